// Constructor checks shared by the optimizers: each throws std::invalid_argument that names the optimizer,
// the hyper-parameter and the offending value. NaN fails every check.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <string_view>

namespace nnfuse {

inline void require_learning_rate(std::string_view optimizer, float learning_rate) {
    if (!(std::isfinite(learning_rate) && learning_rate > 0.0f)) {
        throw std::invalid_argument(
            fmt::format("{}: learning_rate must be finite and > 0, got {}", optimizer, learning_rate));
    }
}

// A rate set during training (a schedule, ReduceLROnPlateau) may reach 0: Keras's CosineDecay ends there.
inline void require_set_learning_rate(std::string_view optimizer, float learning_rate) {
    if (!(std::isfinite(learning_rate) && learning_rate >= 0.0f)) {
        throw std::invalid_argument(
            fmt::format("{}: set_learning_rate needs a finite rate >= 0, got {}", optimizer, learning_rate));
    }
}

// [0, 1): momentum and Adam's betas; 1 would make the average never forget (and Adam divide by zero).
inline void require_unit_interval(std::string_view optimizer, std::string_view name, float value) {
    if (!(value >= 0.0f && value < 1.0f)) {
        throw std::invalid_argument(fmt::format("{}: {} must be in [0, 1), got {}", optimizer, name, value));
    }
}

inline void require_positive(std::string_view optimizer, std::string_view name, float value) {
    if (!(std::isfinite(value) && value > 0.0f)) {
        throw std::invalid_argument(fmt::format("{}: {} must be finite and > 0, got {}", optimizer, name, value));
    }
}

}  // namespace nnfuse
