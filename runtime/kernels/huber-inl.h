// Huber loss (Keras's "huber", class Huber named "huber_loss"; delta 1 by default) with its gradient and the mean
// absolute error metric, per SIMD target.
//
// Huber<Outputs>(predictions, targets, rows, grad_scale, dpredictions, loss_sum, abs_error_sum, delta): for each
// row r of predictions[rows, Outputs] and targets[rows, Outputs], with e = predictions[r] - targets[r],
//   h(e)   = e^2 / 2                   if |e| <= delta
//            delta |e| - delta^2 / 2   otherwise              (Keras's formula; = delta (|e| - delta / 2))
//   loss_r = sum_j h(e_j) / Outputs     (Keras: the mean over the last axis; the batch mean is grad_scale's
//   mae_r  = sum_j |e_j| / Outputs       and the caller's division by the number of samples)
//   dpredictions[r][j] = clamp(e_j, -delta, delta) * (grad_scale / Outputs)     (h is continuously differentiable)
//   requires: values finite; delta > 0 and finite; dpredictions is [rows, Outputs] or nullptr (evaluation: nothing
//             is written); it may not overlap predictions or targets.
//   ensures:  *loss_sum += sum of loss_r, *abs_error_sum += sum of mae_r (both double); each e_j is one float
//             subtraction, e^2 / 2 one rounding, delta |e| - delta^2 / 2 one fused rounding where the target has FMA
//             (delta^2 / 2 rounded to float once), each gradient the float product of the clamped error and the factor
//             grad_scale / Outputs (computed in double, rounded once to float). Sums as in elementwise_loss-inl.h:
//             all rows * Outputs values at once, then divided by Outputs in double.
// The calling pattern of MeanSquaredError<Outputs> (mean_squared_error-inl.h) with delta appended, so that a
// generator emits them alike.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_HUBER_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_HUBER_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_HUBER_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_HUBER_INL_H_
#endif

#include <cstddef>

#include "hwy/highway.h"
#include "runtime/kernels/elementwise_loss-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <std::size_t Outputs>
void Huber(const float* HWY_RESTRICT predictions, const float* HWY_RESTRICT targets, std::size_t rows, float grad_scale,
           float* HWY_RESTRICT dpredictions, double* loss_sum, double* abs_error_sum, float delta) {
    static_assert(Outputs >= 1, "a model has at least one output");
    using elementwise_loss::V;
    const float half_delta_squared = static_cast<float>(0.5 * static_cast<double>(delta) * delta);
    double loss = 0.0, absolutes = 0.0;
    elementwise_loss::Run(
        predictions, targets, rows * Outputs, elementwise_loss::MeanGradientFactor<Outputs>(grad_scale), dpredictions,
        &loss, &absolutes, [&](auto d, V y, V t, V factor) __attribute__((always_inline)) {
            const V limit = hn::Set(d, delta);
            const V error = hn::Sub(y, t);
            const V absolute = hn::Abs(error);
            const V quadratic = hn::Mul(hn::Mul(error, error), hn::Set(d, 0.5f));
            const V linear = hn::MulSub(limit, absolute, hn::Set(d, half_delta_squared));
            const V clamped = hn::Min(hn::Max(error, hn::Neg(limit)), limit);
            return elementwise_loss::Terms{hn::IfThenElse(hn::Le(absolute, limit), quadratic, linear),
                                           hn::Mul(clamped, factor), absolute};
        });
    *loss_sum += loss / Outputs;
    *abs_error_sum += absolutes / Outputs;
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_HUBER_INL_H_
