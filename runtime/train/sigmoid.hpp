// nnfuse::sigmoid_values: probabilities from logits, value by value, for predict() of a model whose final sigmoid
// its loss fuses in training (binary cross-entropy).
//
// Computed in double, so any finite logit gives a probability in [0, 1] (e^-z may overflow to inf: 1 / inf is 0).
// requires: logits and probabilities hold count floats (they may be the same memory).
#pragma once

#include <cmath>
#include <cstddef>

namespace nnfuse {

inline void sigmoid_values(const float* logits, std::size_t count, float* probabilities) {
    for (std::size_t i = 0; i < count; ++i) {
        probabilities[i] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(logits[i]))));
    }
}

}  // namespace nnfuse
