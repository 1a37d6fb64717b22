// fit's Keras callbacks (see fit_callbacks.hpp).
#include "runtime/train/fit_callbacks.hpp"

#include <algorithm>
#include <ostream>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace nnfuse {

namespace {

void require_reported(std::string_view callback, const std::string& monitor, std::span<const std::string> keys) {
    if (std::ranges::find(keys, monitor) != keys.end()) return;
    throw std::invalid_argument(
        fmt::format("{} monitors \"{}\", which this fit does not report (its epochs report {}{})", callback, monitor,
                    fmt::join(keys, ", "),
                    monitor.starts_with("val_") ? "; val_ values need validation_data or validation_split" : ""));
}

double value_of(std::span<const metric> logs, const std::string& name) {
    return std::ranges::find(logs, name, &metric::name)->value;  // present: checked by the constructor
}

}  // namespace

fit_callbacks::fit_callbacks(const callback_set& callbacks, network& net, optimizer& opt,
                             std::span<const std::string> epoch_keys, std::ostream* log)
    : callbacks_(callbacks), net_(net), opt_(opt), log_(log) {
    if (callbacks.schedule != nullptr && callbacks.reduce_lr != nullptr) {
        throw std::invalid_argument(
            "fit: a learning-rate schedule and reduce_lr_on_plateau both set the rate; give one of them");
    }
    if (callbacks.early_stop != nullptr)
        require_reported("early_stopping", callbacks.early_stop->options().monitor, epoch_keys);
    if (callbacks.reduce_lr != nullptr)
        require_reported("reduce_lr_on_plateau", callbacks.reduce_lr->options().monitor, epoch_keys);
}

bool fit_callbacks::begin(std::size_t initial_epoch) {
    if (initial_epoch == 0) {
        if (callbacks_.early_stop != nullptr) callbacks_.early_stop->begin();
        if (callbacks_.reduce_lr != nullptr) callbacks_.reduce_lr->begin();
        return true;
    }
    return callbacks_.early_stop == nullptr || !callbacks_.early_stop->stopped();
}

bool fit_callbacks::end_of_epoch(std::size_t epoch, std::span<const metric> logs) {
    bool stop = false;
    if (early_stopping* stopper = callbacks_.early_stop) {
        stop = stopper->end_of_epoch(epoch, value_of(logs, stopper->options().monitor), net_);
    }
    if (reduce_lr_on_plateau* reducer = callbacks_.reduce_lr) {
        const auto reduced = reducer->end_of_epoch(value_of(logs, reducer->options().monitor), opt_);
        if (reduced && log_ != nullptr) {
            *log_ << fmt::format("Epoch {}: ReduceLROnPlateau reducing learning rate to {}.\n", epoch + 1,
                                 static_cast<double>(*reduced))
                  << std::flush;
        }
    }
    return stop;
}

void fit_callbacks::end() {
    early_stopping* stopper = callbacks_.early_stop;
    if (stopper == nullptr) return;
    if (stopper->stopped() && log_ != nullptr)
        *log_ << fmt::format("Epoch {}: early stopping\n", stopper->state().stopped_epoch + 1);
    if (stopper->end(net_) && log_ != nullptr) {
        *log_ << fmt::format("Restoring model weights from the end of the best epoch: {}.\n",
                             stopper->state().best_epoch + 1);
    }
    if (log_ != nullptr) *log_ << std::flush;
}

}  // namespace nnfuse
