// nnfuse::softmax_rows: probabilities from logits, row by row, for predict().
//
// Stable (subtracts each row's maximum). Not a hot path: training fuses softmax with the loss.
// requires: logits and probabilities hold rows * classes floats (they may be the same memory).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace nnfuse {

inline void softmax_rows(const float* logits, std::size_t rows, std::size_t classes, float* probabilities) {
    for (std::size_t r = 0; r < rows; ++r) {
        const float* z = logits + r * classes;
        float* p = probabilities + r * classes;
        const float top = *std::max_element(z, z + classes);
        double total = 0.0;
        for (std::size_t c = 0; c < classes; ++c) total += std::exp(static_cast<double>(z[c] - top));
        for (std::size_t c = 0; c < classes; ++c)
            p[c] = static_cast<float>(std::exp(static_cast<double>(z[c] - top)) / total);
    }
}

}  // namespace nnfuse
