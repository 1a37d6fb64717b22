// Keras 3's EarlyStopping (see early_stopping.hpp).
#include "runtime/train/early_stopping.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace nnfuse {

namespace {

std::vector<std::vector<float>> copy_weights(network& net) {
    std::vector<std::vector<float>> weights;
    for (const variable_ref& v : net.variables()) weights.emplace_back(v.value.begin(), v.value.end());
    return weights;
}

}  // namespace

early_stopping::early_stopping(early_stopping_options options)
    : options_(std::move(options)), direction_(resolve_direction(options_.monitor, options_.mode)) {
    if (!std::isfinite(options_.min_delta)) {
        throw std::invalid_argument(
            fmt::format("early_stopping: min_delta must be finite, got {}", options_.min_delta));
    }
    if (options_.baseline && !std::isfinite(*options_.baseline)) {
        throw std::invalid_argument(fmt::format("early_stopping: baseline must be finite, got {}", *options_.baseline));
    }
}

void early_stopping::begin() { state_ = {}; }

bool early_stopping::end_of_epoch(std::size_t epoch, double value, network& net) {
    if (epoch < options_.start_from_epoch) return false;
    if (options_.restore_best_weights && state_.best_weights.empty()) {
        state_.best_weights = copy_weights(net);
        state_.best_epoch = epoch;
    }
    ++state_.wait;
    if (improves(direction_, value, state_.best, options_.min_delta)) {
        state_.best = value;
        state_.best_epoch = epoch;
        if (options_.restore_best_weights) state_.best_weights = copy_weights(net);
        if (!options_.baseline || improves(direction_, value, *options_.baseline, options_.min_delta)) state_.wait = 0;
        return false;
    }
    if (state_.wait >= options_.patience && epoch > 0) {
        state_.stopped_epoch = epoch;
        return true;
    }
    return false;
}

bool early_stopping::end(network& net) const {
    if (!options_.restore_best_weights || state_.best_weights.empty()) return false;
    const auto variables = net.variables();
    bool fits = state_.best_weights.size() == variables.size();
    for (std::size_t i = 0; fits && i < variables.size(); ++i)
        fits = state_.best_weights[i].size() == variables[i].value.size();
    if (!fits) {
        throw std::invalid_argument(
            fmt::format("early_stopping: the best weights were copied from another network than {}", net.model_name()));
    }
    for (std::size_t i = 0; i < variables.size(); ++i)
        std::ranges::copy(state_.best_weights[i], variables[i].value.begin());
    return true;
}

}  // namespace nnfuse
