// update_kernels: the element-wise update rules of the optimizers (Keras's formulas) over one parameter's arrays,
// vectorized with Highway and dispatched at run time to the best SIMD target the CPU supports.
//
// Each function applies, for every k in [0, n), exactly these float expressions, in this order (each operator
// rounds once, left to right as written; the parenthesized groups are the evaluation order):
//   sgd_update:           w[k] = w[k] - (lr * g[k])
//   sgd_momentum_update:  v[k] = (mu * v[k]) - (lr * g[k]);  w[k] = w[k] + v[k]
//   sgd_nesterov_update:  v[k] = (mu * v[k]) - (lr * g[k]);  w[k] = w[k] + ((mu * v[k]) - (lr * g[k]))  (new v)
//   adam_update:          m[k] = (b1 * m[k]) + (one_minus_b1 * g[k])
//                         v[k] = (b2 * v[k]) + ((one_minus_b2 * g[k]) * g[k])
//                         w[k] = w[k] - ((alpha * m[k]) / (sqrt(v[k]) + eps))                          (new m, v)
//   (Keras: tf.keras.optimizers.SGD with momentum = mu, nesterov; tf.keras.optimizers.Adam with epsilon outside
//   the sqrt and alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t), which the caller computes once per step.)
//
// requires: each pointer addresses n floats (n may be 0; any alignment); the arrays written (w, v, m) overlap no
//           other argument array, and g overlaps none of them.
// ensures:  only those n elements of w, v, m are written, g is only read. The results are bit-identical to the
//           plain C++ float expressions above, with no multiply-add fused (FMA), on every SIMD target and at every
//           position (the tail that does not fill a vector goes through the same operations, one lane at a time);
//           so they are the same on every CPU, and the same as the scalar loops these kernels replaced.
//
// update_kernels_target(): the Highway target (HWY_AVX3, HWY_SCALAR, ...) the functions dispatch to now;
// update_kernels_compiled_targets(): the bit set of targets this translation unit holds (its HWY_TARGETS).
// Tests loop over the latter with hwy::SetSupportedTargetsForTest and check the former.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nnfuse {

void sgd_update(float* w, const float* g, std::size_t n, float lr);
void sgd_momentum_update(float* w, float* v, const float* g, std::size_t n, float lr, float mu);
void sgd_nesterov_update(float* w, float* v, const float* g, std::size_t n, float lr, float mu);
void adam_update(float* w, float* m, float* v, const float* g, std::size_t n, float alpha, float b1, float one_minus_b1,
                 float b2, float one_minus_b2, float eps);

std::int64_t update_kernels_target();
std::int64_t update_kernels_compiled_targets();

}  // namespace nnfuse
