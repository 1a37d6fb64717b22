// BnFoldIntoConv: a Conv2D followed by batch normalization, as one Conv2D for inference. In inference BN is the affine
// map y = x * s + t per channel (s = gamma / sqrt(moving_variance + epsilon), t = beta - moving_mean * s), so the
// convolution can produce y directly: its kernel scaled per filter by s and its bias moved through the same map.
//
// BnFoldIntoConv(kernel, bias, taps, filters, epsilon, gamma, beta, moving_mean, moving_variance, folded_kernel,
//                folded_bias)
//   requires: kernel [taps, filters] (Keras's HWIO layout: taps = kernel height * width * input channels); bias,
//             gamma, beta, moving_mean, moving_variance [filters]; bias nullptr for a Conv2D without one, gamma
//             nullptr for scale=false (1), beta nullptr for center=false (0); folded_kernel [taps, filters] and
//             folded_bias [filters] overlap nothing.
//   ensures:  folded_kernel[k, f] = kernel[k, f] * s[f], folded_bias[f] = (bias[f] - moving_mean[f]) * s[f] + beta[f],
//             computed in double and rounded once, so conv(x, folded_kernel) + folded_bias equals the BN of
//             conv(x, kernel) + bias up to float rounding.
// Plain C++ (not per SIMD target): it touches the kernel once per inference call, a small fraction of the convolution.
#pragma once

#include <cmath>
#include <cstddef>

namespace nnfuse::kernels {

inline void BnFoldIntoConv(const float* kernel, const float* bias, std::size_t taps, std::size_t filters, float epsilon,
                           const float* gamma, const float* beta, const float* moving_mean,
                           const float* moving_variance, float* folded_kernel, float* folded_bias) {
    for (std::size_t f = 0; f < filters; ++f) {
        const double scale = (gamma == nullptr ? 1.0 : static_cast<double>(gamma[f])) /
                             std::sqrt(static_cast<double>(moving_variance[f]) + static_cast<double>(epsilon));
        const double conv_bias = bias == nullptr ? 0.0 : static_cast<double>(bias[f]);
        const double shift = beta == nullptr ? 0.0 : static_cast<double>(beta[f]);
        folded_bias[f] = static_cast<float>((conv_bias - static_cast<double>(moving_mean[f])) * scale + shift);
        for (std::size_t k = 0; k < taps; ++k) {
            folded_kernel[k * filters + f] = static_cast<float>(static_cast<double>(kernel[k * filters + f]) * scale);
        }
    }
}

}  // namespace nnfuse::kernels
