// Keras's Normalization (axis=-1) forward, per SIMD target: the model's input standardized per feature.
//
// NormalizationForward<Features>(x, rows, mean, variance, y):
//   y[r][c] = (x[r][c] - mean[c]) / max(sqrt(variance[c]), 1e-7f)      for r < rows, c < Features
//   requires: x and y are [rows, Features] row-major (rows counts every value row: samples times the rows of one
//             sample), y does not overlap x; mean and variance hold Features floats.
//   ensures:  each value is computed in float exactly as written, three correctly rounded operations (subtract,
//             divide; the denominator's sqrt and max once per feature and call): every target, and a scalar float
//             loop written the same way (the exported predict header, export/), gives the same bits. The same in
//             training and inference: the layer trains nothing and its statistics are fixed (runtime/train/adapt.hpp).
//             A NaN variance gives NaN (std::max keeps its first argument), as TensorFlow's maximum propagates it.
// Keras divides by max(sqrt(variance), backend.epsilon()), epsilon 1e-7 (float32, as the computation's type).
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_NORMALIZATION_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_NORMALIZATION_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_NORMALIZATION_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_NORMALIZATION_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "hwy/highway.h"
#include "runtime/kernels/simd_columns-inl.h"  // vector_helpers: LoadFirstN, StoreFirstN

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace normalization_detail {

// Keras's backend.epsilon() in float: the smallest standard deviation the layer divides by.
inline constexpr float kEpsilon = 1e-7f;

// The denominator of feature c: max(sqrt(variance), epsilon), the scalar way (the export computes it alike).
inline float Denominator(float variance) { return std::max(std::sqrt(variance), kEpsilon); }

}  // namespace normalization_detail

template <std::size_t Features>
void NormalizationForward(const float* HWY_RESTRICT x, std::size_t rows, const float* HWY_RESTRICT mean,
                          const float* HWY_RESTRICT variance, float* HWY_RESTRICT y) {
    static_assert(Features >= 1, "a sample has at least one feature");
    using vector_helpers::kLanes;
    const vector_helpers::FloatTag d;
    constexpr std::size_t kFullVectors = Features / kLanes, kTailLanes = Features % kLanes;
    // mean and the denominators once per call, padded to whole vectors (mean 0, denominator 1 past Features: the
    // unused lanes compute 0 / 1 and are never stored).
    constexpr std::size_t kPadded = (kFullVectors + (kTailLanes != 0 ? 1 : 0)) * kLanes;
    HWY_ALIGN float centre[kPadded];
    HWY_ALIGN float denominator[kPadded];
    for (std::size_t c = 0; c < kPadded; ++c) {
        centre[c] = c < Features ? mean[c] : 0.0f;
        denominator[c] = c < Features ? normalization_detail::Denominator(variance[c]) : 1.0f;
    }
    for (std::size_t r = 0; r < rows; ++r) {
        const float* row_in = x + r * Features;
        float* row_out = y + r * Features;
        for (std::size_t j = 0; j < kFullVectors; ++j) {
            const std::size_t c = j * kLanes;
            const auto centered = hn::Sub(hn::LoadU(d, row_in + c), hn::Load(d, centre + c));
            hn::StoreU(hn::Div(centered, hn::Load(d, denominator + c)), d, row_out + c);
        }
        if constexpr (kTailLanes != 0) {
            constexpr std::size_t c = kFullVectors * kLanes;
            const auto centered =
                hn::Sub(vector_helpers::LoadFirstN(d, row_in + c, kTailLanes), hn::Load(d, centre + c));
            vector_helpers::StoreFirstN(hn::Div(centered, hn::Load(d, denominator + c)), d, row_out + c, kTailLanes);
        }
    }
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_NORMALIZATION_INL_H_
