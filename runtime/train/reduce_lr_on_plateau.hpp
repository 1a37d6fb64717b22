// reduce_lr_on_plateau: Keras 3's ReduceLROnPlateau callback, for fit_options::reduce_lr (trainer.hpp).
//
// Options and defaults are Keras's: monitor "val_loss", factor 0.1, patience 10, mode auto (monitor.hpp),
// min_delta 1e-4, cooldown 0, min_lr 0.
// begin(): Keras's on_train_begin, forgets the best value, the wait and the cooldown (fit calls it when it starts
//   from epoch 0).
// end_of_epoch(value, opt): Keras's on_epoch_end. In a cooldown the counter goes down and wait is 0. A value that
//   improves on the best by more than min_delta becomes the best and resets wait; otherwise, when no cooldown is
//   left, wait grows, and once it reaches patience, if the optimizer's rate is above min_lr, the rate becomes
//   max(rate * factor, min_lr), the cooldown starts and wait is 0. Returns the new rate when it changed it.
// state(): the above as data, carried by training checkpoints (runtime/checkpoint/checkpoint.hpp) with the
//   optimizer's rate, so that a resumed fit continues exactly.
// requires (else std::invalid_argument naming the value): factor in [0, 1), min_delta finite, min_lr finite >= 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "runtime/optim/optimizer.hpp"
#include "runtime/train/monitor.hpp"

namespace nnfuse {

struct reduce_lr_on_plateau_options {
    std::string monitor = "val_loss";
    double factor = 0.1;
    std::size_t patience = 10;
    monitor_mode mode = monitor_mode::automatic;
    double min_delta = 1e-4;
    std::size_t cooldown = 0;
    double min_lr = 0.0;
};

struct reduce_lr_on_plateau_state {
    std::uint64_t wait = 0;
    double best = std::numeric_limits<double>::quiet_NaN();  // NaN: no epoch watched yet
    std::uint64_t cooldown_counter = 0;
};

class reduce_lr_on_plateau {
public:
    explicit reduce_lr_on_plateau(reduce_lr_on_plateau_options options = {});

    const reduce_lr_on_plateau_options& options() const { return options_; }
    void begin() { state_ = {}; }
    std::optional<float> end_of_epoch(double value, optimizer& opt);

    const reduce_lr_on_plateau_state& state() const { return state_; }
    reduce_lr_on_plateau_state& state() { return state_; }

private:
    reduce_lr_on_plateau_options options_;
    monitor_direction direction_;
    reduce_lr_on_plateau_state state_;
};

}  // namespace nnfuse
