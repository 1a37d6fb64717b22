// The traversal shared by the element-wise losses (binary cross-entropy, mean absolute error, Huber), per SIMD
// target: each value's loss, gradient and metric depend on its prediction and target alone, and Keras averages
// them over the outputs of a row, then over the batch. The mean over a row's outputs of the batch's rows is the
// sum over all rows * Outputs values divided by Outputs, so the values are visited flat, as one array: a model
// with one output (binary classification, scalar regression) fills whole vectors instead of one lane per row.
//
// elementwise_loss::Run(predictions, targets, count, gradient_factor, dpredictions, loss_total, metric_total,
//                       term):
//   for i < count, with {loss_i, gradient_i, metric_i} = term(d, predictions[i], targets[i], factor) lane-wise
//   (factor = gradient_factor broadcast):
//   requires: predictions and targets hold count floats; dpredictions holds count floats or is nullptr (then
//             nothing is written); dpredictions overlaps neither input. term is pure: its lanes are independent.
//   ensures:  dpredictions[i] = gradient_i; *loss_total = sum of loss_i, *metric_total = sum of metric_i (double:
//             float vector sums of at most kVectorsPerFlush vectors per lane, then reduced and added in double;
//             assigned, not added to). Lanes past count are loaded as zeros and their terms discarded: term may
//             give anything there, and nothing at or past predictions + count is read or written.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_ELEMENTWISE_LOSS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_ELEMENTWISE_LOSS_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_ELEMENTWISE_LOSS_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_ELEMENTWISE_LOSS_INL_H_
#endif

#include <cstddef>

#include "hwy/highway.h"
#include "runtime/kernels/simd_columns-inl.h"  // vector_helpers: LoadFirstN, StoreFirstN

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace elementwise_loss {

using vector_helpers::FloatTag;
using vector_helpers::kLanes;
using V = hn::Vec<FloatTag>;

// One vector of a term's results.
struct Terms {
    V loss, gradient, metric;
};

// Float partial sums span at most this many vectors per lane before they move to double: the sums' rounding
// error stays that of a short sum however large the batch.
inline constexpr std::size_t kVectorsPerFlush = 16;

template <class Term>
HWY_INLINE void Run(const float* HWY_RESTRICT predictions, const float* HWY_RESTRICT targets, std::size_t count,
                    float gradient_factor, float* HWY_RESTRICT dpredictions, double* loss_total, double* metric_total,
                    const Term& term) {
    const FloatTag d;
    const V factor = hn::Set(d, gradient_factor);
    double loss = 0.0, metric = 0.0;
    V loss_sum = hn::Zero(d), metric_sum = hn::Zero(d);
    std::size_t vectors_in_sum = 0, i = 0;
    for (; i + kLanes <= count; i += kLanes) {
        const Terms terms = term(d, hn::LoadU(d, predictions + i), hn::LoadU(d, targets + i), factor);
        loss_sum = hn::Add(loss_sum, terms.loss);
        metric_sum = hn::Add(metric_sum, terms.metric);
        if (dpredictions != nullptr) hn::StoreU(terms.gradient, d, dpredictions + i);
        if (++vectors_in_sum == kVectorsPerFlush) {
            loss += static_cast<double>(hn::GetLane(hn::SumOfLanes(d, loss_sum)));
            metric += static_cast<double>(hn::GetLane(hn::SumOfLanes(d, metric_sum)));
            loss_sum = hn::Zero(d), metric_sum = hn::Zero(d), vectors_in_sum = 0;
        }
    }
    if (i < count) {
        const std::size_t lanes = count - i;
        const auto valid = hn::FirstN(d, lanes);
        const Terms terms = term(d, vector_helpers::LoadFirstN(d, predictions + i, lanes),
                                 vector_helpers::LoadFirstN(d, targets + i, lanes), factor);
        loss_sum = hn::Add(loss_sum, hn::IfThenElseZero(valid, terms.loss));
        metric_sum = hn::Add(metric_sum, hn::IfThenElseZero(valid, terms.metric));
        if (dpredictions != nullptr) vector_helpers::StoreFirstN(terms.gradient, d, dpredictions + i, lanes);
    }
    *loss_total = loss + static_cast<double>(hn::GetLane(hn::SumOfLanes(d, loss_sum)));
    *metric_total = metric + static_cast<double>(hn::GetLane(hn::SumOfLanes(d, metric_sum)));
}

// grad_scale / Outputs, computed in double and rounded once to float: the gradient factor of a loss averaged over
// a row's Outputs values (and, through grad_scale, over the batch).
template <std::size_t Outputs>
HWY_INLINE float MeanGradientFactor(float grad_scale) {
    return static_cast<float>(static_cast<double>(grad_scale) / Outputs);
}

}  // namespace elementwise_loss

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_ELEMENTWISE_LOSS_INL_H_
