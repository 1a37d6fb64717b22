// Sigmoid fused with binary cross-entropy (Keras's "binary_crossentropy" on a model ending in sigmoid, computed
// from the logits as Keras does for such a model, i.e. from_logits=True), with its gradient and Keras's
// binary_accuracy metric, per SIMD target.
//
// SigmoidBinaryCrossEntropy<Outputs>(logits, targets, rows, grad_scale, dlogits, loss_sum, accuracy_sum): for each
// row r of logits[rows, Outputs] (z, the last layer's pre-activations) and targets[rows, Outputs] (t),
//   loss_r     = sum_j (max(z_j, 0) - z_j t_j + log1p(e^-|z_j|)) / Outputs
//                (= -t log sigmoid(z) - (1 - t) log(1 - sigmoid(z)), the mean over the last axis as in Keras)
//   accuracy_r = (number of j with t_j == (z_j > 0 ? 1 : 0)) / Outputs
//                (Keras: y_true == cast(y_pred > 0.5); sigmoid(z) > 0.5 exactly when z > 0, so z = 0 predicts 0)
//   dlogits[r][j] = (sigmoid(z_j) - t_j) * (grad_scale / Outputs)       (grad_scale = 1/batch for a mean loss)
//   requires: logits finite (any magnitude: e^-|z| never overflows, |z| = 1e4 gives a finite loss); targets in
//             [0, 1] (soft targets train, but only targets exactly 0 or 1 can count as accurate, as in Keras);
//             dlogits is [rows, Outputs] or nullptr (evaluation: nothing is written); it overlaps neither input.
//   ensures:  *loss_sum += sum of loss_r, *accuracy_sum += sum of accuracy_r (both double; the accuracy sum is
//             exact when Outputs is a power of two); each value's loss is float arithmetic with
//             max(z,0) - z t fused into one rounding where the target has FMA (AVX2 and up), each gradient the float
//             product of sigmoid(z) - t and the factor grad_scale / Outputs (computed in double, rounded once to
//             float). Sums as in elementwise_loss-inl.h: all rows * Outputs values at once, then divided by Outputs in
//             double.
// The same calling pattern as MeanSquaredError<Outputs> (mean_squared_error-inl.h), with the accuracy sum in place
// of the absolute error sum.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_SIGMOID_BINARY_XENT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_SIGMOID_BINARY_XENT_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_SIGMOID_BINARY_XENT_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_SIGMOID_BINARY_XENT_INL_H_
#endif

#include <cstddef>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "runtime/kernels/elementwise_loss-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <std::size_t Outputs>
void SigmoidBinaryCrossEntropy(const float* HWY_RESTRICT logits, const float* HWY_RESTRICT targets, std::size_t rows,
                               float grad_scale, float* HWY_RESTRICT dlogits, double* loss_sum, double* accuracy_sum) {
    static_assert(Outputs >= 1, "a model has at least one output");
    using elementwise_loss::V;
    double loss = 0.0, matches = 0.0;
    elementwise_loss::Run(
        logits, targets, rows * Outputs, elementwise_loss::MeanGradientFactor<Outputs>(grad_scale), dlogits, &loss,
        &matches, [](auto d, V z, V t, V factor) __attribute__((always_inline)) {
            const V zero = hn::Zero(d), one = hn::Set(d, 1.0f);
            // Exp sees only -|z| <= 0: no overflow for any finite z, and log1p keeps the precision of a tiny e.
            const V e = hn::Exp(d, hn::Neg(hn::Abs(z)));
            const V loss_value = hn::Add(hn::NegMulAdd(z, t, hn::ZeroIfNegative(z)), hn::Log1p(d, e));
            // sigmoid(z) from the same e: 1 / (1 + e) for z >= 0, e / (1 + e) for z < 0 (activation-inl.h).
            const V positive = hn::Div(one, hn::Add(one, e));
            const V probability = hn::IfThenElse(hn::Lt(z, zero), hn::Mul(e, positive), positive);
            const V predicted = hn::IfThenElseZero(hn::Gt(z, zero), one);
            return elementwise_loss::Terms{loss_value, hn::Mul(hn::Sub(probability, t), factor),
                                           hn::IfThenElseZero(hn::Eq(predicted, t), one)};
        });
    *loss_sum += loss / Outputs;
    *accuracy_sum += matches / Outputs;
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_SIGMOID_BINARY_XENT_INL_H_
