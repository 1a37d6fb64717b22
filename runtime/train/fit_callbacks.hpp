// fit_callbacks: the Keras callbacks fit drives (trainer.hpp's fit_options: schedule, early_stop, reduce_lr), in
// Keras's order and with its messages, so that the trainer's loop stays a loop.
//
// constructor: requires (else std::invalid_argument) no schedule together with reduce_lr (both would set the rate),
//   and every monitor among `epoch_keys`, the names each epoch's logs will hold (its message lists them).
// begin(initial_epoch): from epoch 0, Keras's on_train_begin (every callback forgets); from a later epoch the state
//   goes on (restored by load_training_checkpoint or left by the previous fit). Returns false when early stopping
//   had already stopped that run: there is nothing to train, and end() is all that is left to do.
// before_step(): the schedule's rate at the optimizer's step count, set on the optimizer.
// reports_learning_rate(): logs carry "learning_rate" (Keras adds it when a callback changes the rate).
// end_of_epoch(epoch, logs): EarlyStopping then ReduceLROnPlateau on the epoch's logs; true when training stops.
// end(): Keras's on_train_end: "Epoch N: early stopping" and the best weights restored, when they apply.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <span>
#include <string>

#include "runtime/optim/optimizer.hpp"
#include "runtime/report/metric.hpp"
#include "runtime/train/early_stopping.hpp"
#include "runtime/train/learning_rate_schedule.hpp"
#include "runtime/train/network.hpp"
#include "runtime/train/reduce_lr_on_plateau.hpp"

namespace nnfuse {

struct callback_set {
    const learning_rate_schedule* schedule = nullptr;
    early_stopping* early_stop = nullptr;
    reduce_lr_on_plateau* reduce_lr = nullptr;
};

class fit_callbacks {
public:
    fit_callbacks(const callback_set& callbacks, network& net, optimizer& opt, std::span<const std::string> epoch_keys,
                  std::ostream* log);

    bool begin(std::size_t initial_epoch);
    void before_step() {
        if (callbacks_.schedule != nullptr)
            opt_.set_learning_rate(callbacks_.schedule->learning_rate(opt_.iterations()));
    }
    bool reports_learning_rate() const { return callbacks_.schedule != nullptr || callbacks_.reduce_lr != nullptr; }
    bool end_of_epoch(std::size_t epoch, std::span<const metric> logs);
    void end();

private:
    callback_set callbacks_;
    network& net_;
    optimizer& opt_;
    std::ostream* log_;
};

}  // namespace nnfuse
