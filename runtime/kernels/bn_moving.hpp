// BnUpdateMoving: folds one training batch's statistics into a batch-normalization layer's moving
// (running) mean and variance, by the layer's profile (docs/design.md, "Batch normalization semantics").
//
//   keras:  moving  = moving * momentum + batch * (1 - momentum), with the biased batch variance.
//   torch:  running = (1 - momentum) * running + momentum * batch, with the unbiased batch variance
//           batch_var * m / (m - 1);
//           cumulative (torch's momentum=None): the batch's share is 1 / batches_seen, which makes the
//           running values the plain mean of all batches' statistics so far.
// requires: batch_mean, batch_var, moving_mean, moving_var hold C floats; batch_var is the biased
//           variance of m values (what BnForwardTrain writes); m >= 2 for the torch profile;
//           batches_seen >= 1 counts the batches including this one when cumulative.
// ensures:  each feature whose batch mean and variance are finite is updated; a feature with a NaN or
//           infinite batch statistic is left unchanged, so NaN never enters the moving averages
//           (pytorch#88474); returns how many features were skipped that way.
// Arithmetic is in double, rounded once to float per value.
//
// Plain C++ (not per SIMD target): it touches 4*C floats once per batch.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "dsl/layers/batch_norm.hpp"

namespace nnfuse::kernels {

// 1 if v is finite (its exponent is not all ones), else 0.
inline std::uint32_t IsFiniteBits(float v) {
    constexpr std::uint32_t exponent = 0x7f800000u;
    return (std::bit_cast<std::uint32_t>(v) & exponent) != exponent ? 1u : 0u;
}

inline std::size_t BnUpdateMoving(std::size_t C, const float* batch_mean, const float* batch_var, std::size_t m,
                                  bn_profile profile, double momentum, bool cumulative, std::uint64_t batches_seen,
                                  float* moving_mean, float* moving_var) {
    const bool torch = profile == bn_profile::torch;
    double batch_share = 0.0;  // the weight of this batch's statistic in the new moving value
    if (torch) {
        batch_share = cumulative ? 1.0 / static_cast<double>(batches_seen) : momentum;
    } else {
        batch_share = 1.0 - momentum;
    }
    const double kept_share = 1.0 - batch_share;
    const double bessel = torch ? static_cast<double>(m) / static_cast<double>(m - 1) : 1.0;

    // Branch-free, so that the compiler vectorizes it: it runs once per training step, and a small batch's step is
    // short (batch 32: the loop with a branch per feature was 3% of an epoch). A feature is kept by bit masks.
    std::size_t skipped = 0;
    for (std::size_t c = 0; c < C; ++c) {
        const std::uint32_t finite = IsFiniteBits(batch_mean[c]) & IsFiniteBits(batch_var[c]);
        const std::uint32_t take = 0u - finite;  // all ones when finite
        const float mean = static_cast<float>(kept_share * moving_mean[c] + batch_share * batch_mean[c]);
        const float var = static_cast<float>(kept_share * moving_var[c] + batch_share * (bessel * batch_var[c]));
        moving_mean[c] = std::bit_cast<float>((std::bit_cast<std::uint32_t>(mean) & take) |
                                              (std::bit_cast<std::uint32_t>(moving_mean[c]) & ~take));
        moving_var[c] = std::bit_cast<float>((std::bit_cast<std::uint32_t>(var) & take) |
                                             (std::bit_cast<std::uint32_t>(moving_var[c]) & ~take));
        skipped += 1 - finite;
    }
    return skipped;
}

}  // namespace nnfuse::kernels
