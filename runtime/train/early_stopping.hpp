// early_stopping: Keras 3's EarlyStopping callback, for fit_options::early_stop (trainer.hpp).
//
// Options and defaults are Keras's: monitor "val_loss", min_delta 0, patience 0, mode auto (monitor.hpp),
// no baseline, restore_best_weights false, start_from_epoch 0.
// begin(net): Keras's on_train_begin, forgets everything (fit calls it when it starts from epoch 0).
// end_of_epoch(epoch, value, net): Keras's on_epoch_end given the monitored value; true when training is to stop.
//   Epochs before start_from_epoch are ignored. Otherwise wait grows by one; a value that improves on the best by
//   more than min_delta becomes the best (and, with restore_best_weights, its weights are copied) and resets wait,
//   unless a baseline is set and the value does not improve on it. With restore_best_weights the first epoch
//   watched is copied even when it is not an improvement. Training stops when wait >= patience at an epoch > 0.
// end(net): Keras's on_train_end: with restore_best_weights, the copied weights (every variable of the network,
//   moving statistics included, as Keras's get_weights) are written back; true when it wrote them.
// state(): all of the above as data, so that a training checkpoint carries it and a resumed fit continues it
//   exactly (runtime/checkpoint/checkpoint.hpp, training_callbacks).
// requires: the same network in every call after begin (best_weights match its variables; else
//   std::invalid_argument); min_delta and baseline finite.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "runtime/train/monitor.hpp"
#include "runtime/train/network.hpp"

namespace nnfuse {

struct early_stopping_options {
    std::string monitor = "val_loss";
    double min_delta = 0.0;
    std::size_t patience = 0;
    monitor_mode mode = monitor_mode::automatic;
    std::optional<double> baseline = std::nullopt;
    bool restore_best_weights = false;
    std::size_t start_from_epoch = 0;
};

struct early_stopping_state {
    std::uint64_t wait = 0;
    double best = std::numeric_limits<double>::quiet_NaN();  // NaN: no epoch watched yet
    std::uint64_t best_epoch = 0;
    std::uint64_t stopped_epoch = 0;               // 0: not stopped (Keras's convention; epoch 0 never stops)
    std::vector<std::vector<float>> best_weights;  // one per network variable; empty until copied
};

class early_stopping {
public:
    explicit early_stopping(early_stopping_options options = {});

    const early_stopping_options& options() const { return options_; }
    monitor_direction direction() const { return direction_; }

    void begin();
    bool end_of_epoch(std::size_t epoch, double value, network& net);
    bool end(network& net) const;

    bool stopped() const { return state_.stopped_epoch > 0; }
    const early_stopping_state& state() const { return state_; }
    early_stopping_state& state() { return state_; }

private:
    early_stopping_options options_;
    monitor_direction direction_;
    early_stopping_state state_;
};

}  // namespace nnfuse
