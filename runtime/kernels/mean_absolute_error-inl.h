// Mean absolute error (Keras's "mean_absolute_error") with its gradient, per SIMD target; its metric is itself
// (Keras's "mae").
//
// MeanAbsoluteError<Outputs>(predictions, targets, rows, grad_scale, dpredictions, loss_sum, abs_error_sum): for
// each row r of predictions[rows, Outputs] and targets[rows, Outputs], with e = predictions[r] - targets[r],
//   loss_r = mae_r = sum_j |e_j| / Outputs      (Keras: the mean over the last axis; the batch mean is grad_scale's
//                                                and the caller's division by the number of samples)
//   dpredictions[r][j] = sign(e_j) * (grad_scale / Outputs), and 0 where e_j == 0: the subgradient TensorFlow
//                        takes (the gradient of abs is grad * sign(x), and sign(0) = 0)
//   requires: values finite; dpredictions is [rows, Outputs] or nullptr (evaluation: nothing is written); it may
//             not overlap predictions or targets.
//   ensures:  *loss_sum += sum of loss_r, *abs_error_sum += the same sum (both double); each e_j is one float
//             subtraction, each gradient exactly +-factor or 0 with factor = grad_scale / Outputs computed in
//             double and rounded once to float. Sums as in elementwise_loss-inl.h: all rows * Outputs values at
//             once, then divided by Outputs in double.
// The calling pattern of MeanSquaredError<Outputs> (mean_squared_error-inl.h), so that a generator emits both alike.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_MEAN_ABSOLUTE_ERROR_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_MEAN_ABSOLUTE_ERROR_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_MEAN_ABSOLUTE_ERROR_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_MEAN_ABSOLUTE_ERROR_INL_H_
#endif

#include <cstddef>

#include "hwy/highway.h"
#include "runtime/kernels/elementwise_loss-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <std::size_t Outputs>
void MeanAbsoluteError(const float* HWY_RESTRICT predictions, const float* HWY_RESTRICT targets, std::size_t rows,
                       float grad_scale, float* HWY_RESTRICT dpredictions, double* loss_sum, double* abs_error_sum) {
    static_assert(Outputs >= 1, "a model has at least one output");
    using elementwise_loss::V;
    double absolutes = 0.0, unused = 0.0;
    elementwise_loss::Run(
        predictions, targets, rows * Outputs, elementwise_loss::MeanGradientFactor<Outputs>(grad_scale), dpredictions,
        &absolutes, &unused, [](auto d, V y, V t, V factor) __attribute__((always_inline)) {
            const V error = hn::Sub(y, t);
            const V gradient = hn::IfThenElseZero(hn::Ne(error, hn::Zero(d)), hn::CopySign(factor, error));
            // The metric is the loss: no second sum.
            return elementwise_loss::Terms{hn::Abs(error), gradient, hn::Zero(d)};
        });
    *loss_sum += absolutes / Outputs;
    *abs_error_sum += absolutes / Outputs;
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_MEAN_ABSOLUTE_ERROR_INL_H_
