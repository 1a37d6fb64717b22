// Keras 3's ReduceLROnPlateau (see reduce_lr_on_plateau.hpp).
#include "runtime/train/reduce_lr_on_plateau.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace nnfuse {

reduce_lr_on_plateau::reduce_lr_on_plateau(reduce_lr_on_plateau_options options)
    : options_(std::move(options)), direction_(resolve_direction(options_.monitor, options_.mode)) {
    if (!(options_.factor >= 0.0 && options_.factor < 1.0)) {
        throw std::invalid_argument(fmt::format(
            "reduce_lr_on_plateau: factor must be in [0, 1) (it multiplies the rate), got {}", options_.factor));
    }
    if (!std::isfinite(options_.min_delta)) {
        throw std::invalid_argument(
            fmt::format("reduce_lr_on_plateau: min_delta must be finite, got {}", options_.min_delta));
    }
    if (!(std::isfinite(options_.min_lr) && options_.min_lr >= 0.0)) {
        throw std::invalid_argument(
            fmt::format("reduce_lr_on_plateau: min_lr must be finite and >= 0, got {}", options_.min_lr));
    }
}

std::optional<float> reduce_lr_on_plateau::end_of_epoch(double value, optimizer& opt) {
    if (state_.cooldown_counter > 0) {
        --state_.cooldown_counter;
        state_.wait = 0;
    }
    if (improves(direction_, value, state_.best, options_.min_delta)) {
        state_.best = value;
        state_.wait = 0;
        return std::nullopt;
    }
    // As Keras, the cooldown's last epoch already counts towards the patience.
    if (state_.cooldown_counter > 0 || ++state_.wait < options_.patience) return std::nullopt;
    const double rate = opt.learning_rate();
    if (!(rate > options_.min_lr)) return std::nullopt;
    const auto reduced = static_cast<float>(std::max(rate * options_.factor, options_.min_lr));
    opt.set_learning_rate(reduced);
    state_.cooldown_counter = options_.cooldown;
    state_.wait = 0;
    return reduced;
}

}  // namespace nnfuse
