// Mean squared error (Keras's "mean_squared_error") with its gradient and the mean absolute error metric, per SIMD
// target.
//
// MeanSquaredError<Outputs>(predictions, targets, rows, grad_scale, dpredictions, loss_sum, abs_error_sum): for
// each row r of predictions[rows, Outputs] and targets[rows, Outputs], with e = predictions[r] - targets[r],
//   loss_r = sum_j e_j^2 / Outputs            (Keras: the mean over the last axis; the batch mean is grad_scale's
//   mae_r  = sum_j |e_j| / Outputs             and the caller's division by the number of samples)
//   dpredictions[r][j] = e_j * (2 * grad_scale / Outputs)    (grad_scale = 1/batch for a mean loss)
//   requires: values finite; dpredictions is [rows, Outputs] or nullptr (evaluation: nothing is written); it may
//             not overlap predictions or targets.
//   ensures:  *loss_sum += sum of loss_r, *abs_error_sum += sum of mae_r (both double); each e_j is one float
//             subtraction, each gradient the float product of e_j and the factor 2 * grad_scale / Outputs
//             (computed in double, rounded once to float); a row's sums are float vector sums, converted to
//             double before the division by Outputs.
// The same calling pattern as SoftmaxCrossEntropy<Classes> (softmax_xent-inl.h), with float targets in place of
// class ids and the absolute error sum in place of the correct count.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_MEAN_SQUARED_ERROR_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_MEAN_SQUARED_ERROR_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_MEAN_SQUARED_ERROR_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_MEAN_SQUARED_ERROR_INL_H_
#endif

#include <cstddef>

#include "hwy/highway.h"
#include "runtime/kernels/simd_columns-inl.h"  // vector_helpers: LoadFirstN, StoreFirstN

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <std::size_t Outputs>
void MeanSquaredError(const float* HWY_RESTRICT predictions, const float* HWY_RESTRICT targets, std::size_t rows,
                      float grad_scale, float* HWY_RESTRICT dpredictions, double* loss_sum, double* abs_error_sum) {
    static_assert(Outputs >= 1, "a model has at least one output");
    using vector_helpers::kLanes;
    using V = hn::Vec<vector_helpers::FloatTag>;
    const vector_helpers::FloatTag d;
    constexpr std::size_t kFullVectors = Outputs / kLanes, kTailLanes = Outputs % kLanes;
    const V factor = hn::Set(d, static_cast<float>(2.0 * static_cast<double>(grad_scale) / Outputs));

    double batch_loss = 0.0, batch_abs_error = 0.0;
    for (std::size_t r = 0; r < rows; ++r) {
        const float* row_predictions = predictions + r * Outputs;
        const float* row_targets = targets + r * Outputs;
        float* row_gradient = dpredictions == nullptr ? nullptr : dpredictions + r * Outputs;
        V squares = hn::Zero(d), absolutes = hn::Zero(d);
        for (std::size_t j = 0; j < kFullVectors; ++j) {
            const V error = hn::Sub(hn::LoadU(d, row_predictions + j * kLanes), hn::LoadU(d, row_targets + j * kLanes));
            squares = hn::MulAdd(error, error, squares);
            absolutes = hn::Add(absolutes, hn::Abs(error));
            if (row_gradient != nullptr) hn::StoreU(hn::Mul(error, factor), d, row_gradient + j * kLanes);
        }
        if constexpr (kTailLanes != 0) {
            // Lanes past Outputs load as zeros on both sides: their error is 0 and adds nothing.
            constexpr std::size_t first = kFullVectors * kLanes;
            const V error = hn::Sub(vector_helpers::LoadFirstN(d, row_predictions + first, kTailLanes),
                                    vector_helpers::LoadFirstN(d, row_targets + first, kTailLanes));
            squares = hn::MulAdd(error, error, squares);
            absolutes = hn::Add(absolutes, hn::Abs(error));
            if (row_gradient != nullptr) {
                vector_helpers::StoreFirstN(hn::Mul(error, factor), d, row_gradient + first, kTailLanes);
            }
        }
        batch_loss += static_cast<double>(hn::GetLane(hn::SumOfLanes(d, squares))) / Outputs;
        batch_abs_error += static_cast<double>(hn::GetLane(hn::SumOfLanes(d, absolutes))) / Outputs;
    }
    *loss_sum += batch_loss;
    *abs_error_sum += batch_abs_error;
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_MEAN_SQUARED_ERROR_INL_H_
