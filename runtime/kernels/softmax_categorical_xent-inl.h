// Softmax fused with categorical cross-entropy on one-hot or soft targets (Keras's "categorical_crossentropy" on a
// model ending in softmax, computed from the logits as Keras does for such a model), with its gradient and Keras's
// categorical accuracy, per SIMD target.
//
// SoftmaxCategoricalCrossEntropy<Units>(logits, targets, rows, grad_scale, dlogits, loss_sum, correct): for each
// row r of logits[rows, Units] (z) and targets[rows, Units] (t), with p = softmax(z), m = max_j z_j and
// S = sum_j e^(z_j - m),
//   loss_r = -sum_j t_j log p_j = (sum_j t_j) log S + sum_j t_j (m - z_j)
//   dlogits[r] = (p - t) * grad_scale                       (grad_scale = 1/batch for a mean loss)
//   correct: argmax_j z_j == argmax_j t_j, each the first maximal index like numpy.argmax (Keras's categorical
//            accuracy, reported under "accuracy"; argmax of p is argmax of z)
//   requires: logits finite (any magnitude: the maximum is subtracted before exponentiating); targets >= 0 and
//             each row's sum 1 (one-hot or soft: p - t is the loss's gradient only then, as in TensorFlow's
//             softmax_cross_entropy_with_logits; the data side validates); dlogits is [rows, Units] or nullptr
//             (evaluation: nothing is written); it overlaps neither input.
//   ensures:  *loss_sum += sum of loss_r (double: the row's two float sums, each of non-negative terms so nothing
//             cancels, combined in double with std::log(S)); *correct += number of rows whose argmaxes agree;
//             dlogits[r][j] = p_j grad_scale - t_j grad_scale, the difference fused into one rounding where the
//             target has FMA (AVX2 and up; below it t_j grad_scale is rounded first), p_j grad_scale =
//             e^(z_j - m) * (grad_scale / S).
// The same calling pattern as SoftmaxCrossEntropy<Classes> (softmax_xent-inl.h), with float target rows in place of
// class ids; it reuses that header's SoftmaxRow.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_SOFTMAX_CATEGORICAL_XENT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_SOFTMAX_CATEGORICAL_XENT_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_SOFTMAX_CATEGORICAL_XENT_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_SOFTMAX_CATEGORICAL_XENT_INL_H_
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "hwy/highway.h"
#include "runtime/kernels/simd_columns-inl.h"
#include "runtime/kernels/softmax_xent-inl.h"  // softmax_detail::SoftmaxRow

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <std::size_t Units>
void SoftmaxCategoricalCrossEntropy(const float* HWY_RESTRICT logits, const float* HWY_RESTRICT targets,
                                    std::size_t rows, float grad_scale, float* HWY_RESTRICT dlogits, double* loss_sum,
                                    double* correct) {
    using Row = softmax_detail::SoftmaxRow<Units>;
    using V = softmax_detail::V;
    using vector_helpers::kLanes;
    const vector_helpers::FloatTag d;
    const V minus_infinity = hn::Set(d, -std::numeric_limits<float>::infinity());
    const V scale = hn::Set(d, grad_scale);
    double batch_loss = 0.0;
    std::size_t batch_correct = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        const float* row_targets = targets + r * Units;
        const Row row(logits + r * Units);
        V target[Row::kVectors];
        // Lanes past Units: target 0 (adds nothing to the sums) and, for the argmax, -inf (never the maximum).
        V target_sum = hn::Zero(d), weighted_gap = hn::Zero(d), target_max = minus_infinity;
        vector_helpers::Unroll<Row::kVectors>([&](auto j) __attribute__((always_inline)) {
            constexpr bool kPartial = j + 1 == Row::kVectors && Row::kLastLanes != kLanes;
            constexpr std::size_t kCount = j + 1 == Row::kVectors ? Row::kLastLanes : kLanes;
            target[j] = vector_helpers::LoadFirstN(d, row_targets + j * kLanes, kCount);
            // m - z is >= 0 and +inf in the padding lanes, where the product would be 0 * inf: masked.
            V gap = hn::Mul(target[j], hn::Sub(row.max, row.logits[j]));
            if constexpr (kPartial) gap = hn::IfThenElseZero(hn::FirstN(d, kCount), gap);
            weighted_gap = hn::Add(weighted_gap, gap);
            target_sum = hn::Add(target_sum, target[j]);
            const V candidate = kPartial ? hn::IfThenElse(hn::FirstN(d, kCount), target[j], minus_infinity) : target[j];
            target_max = hn::Max(target_max, candidate);
        });
        const double sum_of_targets = static_cast<double>(hn::GetLane(hn::SumOfLanes(d, target_sum)));
        batch_loss += sum_of_targets * std::log(static_cast<double>(row.sum)) +
                      static_cast<double>(hn::GetLane(hn::SumOfLanes(d, weighted_gap)));

        // The first index holding the target row's maximum (a padding lane cannot: it is -inf there).
        const V broadcast_max = hn::MaxOfLanes(d, target_max);
        std::size_t target_argmax = Units;
        for (std::size_t j = 0; j < Row::kVectors && target_argmax == Units; ++j) {
            const std::intptr_t lane = hn::FindFirstTrue(d, hn::Eq(target[j], broadcast_max));
            if (lane >= 0) target_argmax = j * kLanes + static_cast<std::size_t>(lane);
        }
        batch_correct += row.ArgMax() == target_argmax ? 1 : 0;
        if (dlogits == nullptr) continue;

        float* row_gradient = dlogits + r * Units;
        const V scaled_inverse_sum = hn::Set(d, grad_scale / row.sum);
        vector_helpers::Unroll<Row::kVectors>([&](auto j) __attribute__((always_inline)) {
            constexpr std::size_t kCount = j + 1 == Row::kVectors ? Row::kLastLanes : kLanes;
            const V gradient = hn::NegMulAdd(target[j], scale, hn::Mul(row.exps[j], scaled_inverse_sum));
            vector_helpers::StoreFirstN(gradient, d, row_gradient + j * kLanes, kCount);
        });
    }
    *loss_sum += batch_loss;
    *correct += static_cast<double>(batch_correct);
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_SOFTMAX_CATEGORICAL_XENT_INL_H_
