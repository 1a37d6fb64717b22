// Softmax fused with sparse categorical cross-entropy (training and evaluation), per SIMD target. Predict's
// probabilities come from nnfuse::softmax_rows (runtime/train/softmax.hpp), not from a kernel.
//
// SoftmaxCrossEntropy<Units>(logits, labels, rows, grad_scale, dlogits, loss_sum, correct): for each row r,
//   p = softmax(logits[r]), loss_r = logsumexp(logits[r]) - logits[r][labels[r]],
//   dlogits[r] = (p - onehot(labels[r])) * grad_scale (grad_scale = 1/batch for a mean loss).
//   requires: 0 <= labels[r] < Units for every row (the data loader validates); logits finite;
//             dlogits is [rows, Units] or nullptr (evaluation only: nothing is written).
//   ensures:  *loss_sum += sum of loss_r (double); *correct += number of rows whose argmax (the first maximal
//             index, like numpy.argmax) equals the label (a double, as every loss's metric: exact below 2^53).
// Numerically stable: the row maximum is subtracted before exponentiating, so every exponent is <= 0
// (logits of magnitude 1e4 give finite losses) and the loss is formed as log(sum) + (max - logit[label]).
//
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_SOFTMAX_XENT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_SOFTMAX_XENT_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_SOFTMAX_XENT_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_SOFTMAX_XENT_INL_H_
#endif

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "runtime/kernels/simd_columns-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace softmax_detail {

using vector_helpers::FloatTag;
using vector_helpers::kLanes;
using V = hn::Vec<FloatTag>;

// One row of Units logits held in vectors, with its maximum and the (unnormalized) exponentials.
template <std::size_t Units>
struct SoftmaxRow {
    static constexpr std::size_t kVectors = vector_helpers::VectorsFor(Units);
    static constexpr std::size_t kLastLanes = vector_helpers::LastVectorLanes(Units);

    V logits[kVectors];
    V exps[kVectors];  // e^(logit - max); zero in the lanes past Units
    V max;             // broadcast row maximum
    float sum = 0.0f;  // sum of exps

    explicit HWY_INLINE SoftmaxRow(const float* HWY_RESTRICT row) {
        const FloatTag d;
        // Lanes past Units hold -inf: they never win the maximum.
        const V minus_infinity = hn::Set(d, -std::numeric_limits<float>::infinity());
        V running_max = minus_infinity;
        vector_helpers::Unroll<kVectors>([&](auto j) __attribute__((always_inline)) {
            if constexpr (j + 1 == kVectors && kLastLanes != kLanes) {
                logits[j] = hn::IfThenElse(hn::FirstN(d, kLastLanes),
                                           vector_helpers::LoadFirstN(d, row + j * kLanes, kLastLanes), minus_infinity);
            } else {
                logits[j] = hn::LoadU(d, row + j * kLanes);
            }
            running_max = hn::Max(running_max, logits[j]);
        });
        max = hn::MaxOfLanes(d, running_max);
        V running_sum = hn::Zero(d);
        vector_helpers::Unroll<kVectors>([&](auto j) __attribute__((always_inline)) {
            // Every exponent is <= 0, inside Exp's valid range; -inf (padding) gives 0.
            exps[j] = hn::Exp(d, hn::Sub(logits[j], max));
            if constexpr (j + 1 == kVectors && kLastLanes != kLanes) {
                exps[j] = hn::IfThenElseZero(hn::FirstN(d, kLastLanes), exps[j]);
            }
            running_sum = hn::Add(running_sum, exps[j]);
        });
        sum = hn::GetLane(hn::SumOfLanes(d, running_sum));
    }

    // Index of the first lane equal to the maximum, like numpy.argmax.
    HWY_INLINE std::size_t ArgMax() const {
        const FloatTag d;
        for (std::size_t j = 0; j < kVectors; ++j) {
            const std::intptr_t lane = hn::FindFirstTrue(d, hn::Eq(logits[j], max));
            if (lane >= 0) return j * kLanes + static_cast<std::size_t>(lane);
        }
        return 0;  // unreachable for finite logits: the maximum is one of them
    }
};

}  // namespace softmax_detail

template <std::size_t Units>
void SoftmaxCrossEntropy(const float* HWY_RESTRICT logits, const std::int32_t* HWY_RESTRICT labels, std::size_t rows,
                         float grad_scale, float* HWY_RESTRICT dlogits, double* loss_sum, double* correct) {
    using Row = softmax_detail::SoftmaxRow<Units>;
    const vector_helpers::FloatTag d;
    // loss_r = log(sum_r) + (max_r - logit_r[label]). The difference of two floats is exact in double, so a loss
    // near zero keeps its precision and large logits do not cancel. The logarithms are taken of products of row
    // sums, one std::log per kRowsPerLogarithm rows (a third of the time at 10 classes): each sum lies in
    // [1, Units] (the maximum contributes e^0), so such a product stays below 2^512, far inside double's range.
    constexpr std::size_t kRowsPerLogarithm = 512 / std::bit_width(Units);
    double batch_loss = 0.0, sums_product = 1.0;
    std::size_t rows_in_product = 0, batch_correct = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        const float* row_logits = logits + r * Units;
        const auto label = static_cast<std::size_t>(labels[r]);
        const Row row(row_logits);
        batch_loss += static_cast<double>(hn::GetLane(row.max)) - static_cast<double>(row_logits[label]);
        sums_product *= static_cast<double>(row.sum);
        if (++rows_in_product == kRowsPerLogarithm) {
            batch_loss += std::log(sums_product);
            sums_product = 1.0, rows_in_product = 0;
        }
        batch_correct += row.ArgMax() == label ? 1 : 0;
        if (dlogits == nullptr) continue;

        float* row_gradient = dlogits + r * Units;
        const auto scaled_inverse_sum = hn::Set(d, grad_scale / row.sum);
        const auto label_lane = hn::Set(d, static_cast<float>(label));  // exact: Units < 2^24
        const auto label_term = hn::Set(d, grad_scale);
        vector_helpers::Unroll<Row::kVectors>([&](auto j) __attribute__((always_inline)) {
            constexpr std::size_t kCount = j + 1 == Row::kVectors ? Row::kLastLanes : vector_helpers::kLanes;
            const auto is_label = hn::Eq(hn::Iota(d, static_cast<float>(j * vector_helpers::kLanes)), label_lane);
            const auto gradient =
                hn::Sub(hn::Mul(row.exps[j], scaled_inverse_sum), hn::IfThenElseZero(is_label, label_term));
            vector_helpers::StoreFirstN(gradient, d, row_gradient + j * vector_helpers::kLanes, kCount);
        });
    }
    *loss_sum += batch_loss + std::log(sums_product);
    *correct += static_cast<double>(batch_correct);
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_SOFTMAX_XENT_INL_H_
