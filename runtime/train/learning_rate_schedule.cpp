// Keras's learning-rate schedules (see learning_rate_schedule.hpp).
#include "runtime/train/learning_rate_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace nnfuse {

namespace {

void require(bool holds, std::string_view schedule, std::string_view what, const auto& value) {
    if (!holds) throw std::invalid_argument(fmt::format("{}: {} must be {}", schedule, what, value));
}

void require_initial_rate(std::string_view schedule, float rate) {
    require(std::isfinite(rate) && rate > 0.0f, schedule, "initial_learning_rate",
            fmt::format("finite and > 0, got {}", rate));
}

}  // namespace

exponential_decay::exponential_decay(const exponential_decay_options& options) : options_(options) {
    require_initial_rate("exponential_decay", options.initial_learning_rate);
    require(options.decay_steps > 0, "exponential_decay", "decay_steps", "> 0, got 0");
    require(std::isfinite(options.decay_rate) && options.decay_rate > 0.0, "exponential_decay", "decay_rate",
            fmt::format("finite and > 0, got {}", options.decay_rate));
}

float exponential_decay::learning_rate(std::uint64_t step) const {
    double p = static_cast<double>(step) / static_cast<double>(options_.decay_steps);
    if (options_.staircase) p = std::floor(p);
    return static_cast<float>(static_cast<double>(options_.initial_learning_rate) * std::pow(options_.decay_rate, p));
}

std::string exponential_decay::describe() const {
    return fmt::format("exponential_decay(initial_learning_rate={}, decay_steps={}, decay_rate={}, staircase={})",
                       options_.initial_learning_rate, options_.decay_steps, options_.decay_rate, options_.staircase);
}

exponential_decay step_decay(float initial_learning_rate, std::uint64_t step_size, double factor) {
    return exponential_decay({.initial_learning_rate = initial_learning_rate,
                              .decay_steps = step_size,
                              .decay_rate = factor,
                              .staircase = true});
}

cosine_decay::cosine_decay(float initial_learning_rate, std::uint64_t decay_steps, double alpha)
    : initial_(initial_learning_rate), decay_steps_(decay_steps), alpha_(alpha) {
    require_initial_rate("cosine_decay", initial_learning_rate);
    require(decay_steps > 0, "cosine_decay", "decay_steps", "> 0, got 0");
    require(alpha >= 0.0 && alpha <= 1.0, "cosine_decay", "alpha", fmt::format("in [0, 1], got {}", alpha));
}

float cosine_decay::learning_rate(std::uint64_t step) const {
    const double fraction = static_cast<double>(std::min(step, decay_steps_)) / static_cast<double>(decay_steps_);
    const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * fraction));
    return static_cast<float>(static_cast<double>(initial_) * ((1.0 - alpha_) * cosine + alpha_));
}

std::string cosine_decay::describe() const {
    return fmt::format("cosine_decay(initial_learning_rate={}, decay_steps={}, alpha={})", initial_, decay_steps_,
                       alpha_);
}

piecewise_constant_decay::piecewise_constant_decay(std::vector<std::uint64_t> boundaries, std::vector<float> values)
    : boundaries_(std::move(boundaries)), values_(std::move(values)) {
    require(values_.size() == boundaries_.size() + 1, "piecewise_constant_decay", "values",
            fmt::format("one more than the {} boundaries, got {}", boundaries_.size(), values_.size()));
    for (std::size_t i = 1; i < boundaries_.size(); ++i) {
        require(boundaries_[i - 1] < boundaries_[i], "piecewise_constant_decay", "boundaries",
                fmt::format("strictly increasing, got {} then {}", boundaries_[i - 1], boundaries_[i]));
    }
    for (float v : values_) {
        require(std::isfinite(v) && v >= 0.0f, "piecewise_constant_decay", "every value",
                fmt::format("finite and >= 0, got {}", v));
    }
}

float piecewise_constant_decay::learning_rate(std::uint64_t step) const {
    // The first boundary >= step closes the interval step is in.
    const auto interval = std::lower_bound(boundaries_.begin(), boundaries_.end(), step) - boundaries_.begin();
    return values_[static_cast<std::size_t>(interval)];
}

std::string piecewise_constant_decay::describe() const {
    return fmt::format("piecewise_constant_decay(boundaries=[{}], values=[{}])", fmt::join(boundaries_, ", "),
                       fmt::join(values_, ", "));
}

}  // namespace nnfuse
