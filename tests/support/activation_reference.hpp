// Double-precision element-wise activations and their derivatives, written from the mathematical definitions
// (std::exp, std::expm1, std::tanh in double), not from the kernels' code: the references of the kernel tests.
//
// ActivationReference(kind, z) = f(z); DerivativeReference(kind, z) = f'(z) from the pre-activation z (the kernels
// take it from the output y instead: an independent route).
// requires: kind is element-wise; softmax throws std::logic_error.
#pragma once

#include <cmath>
#include <stdexcept>

#include "dsl/activation.hpp"

namespace nnfuse::test {

// SELU constants from Klambauer et al. 2017, "Self-Normalizing Neural Networks".
inline constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
inline constexpr double kSeluScale = 1.0507009873554804934193349852946;

inline double ActivationReference(activation_kind kind, double z) {
    switch (kind) {
        case activation_kind::linear:
            return z;
        case activation_kind::relu:
            return z > 0 ? z : 0.0;
        case activation_kind::elu:
            return z > 0 ? z : std::expm1(z);
        case activation_kind::selu:
            return kSeluScale * (z > 0 ? z : kSeluAlpha * std::expm1(z));
        case activation_kind::sigmoid:
            return 1.0 / (1.0 + std::exp(-z));
        case activation_kind::tanh:
            return std::tanh(z);
        case activation_kind::softmax:
            break;
    }
    throw std::logic_error("softmax is not element-wise");
}

inline double DerivativeReference(activation_kind kind, double z) {
    switch (kind) {
        case activation_kind::linear:
            return 1.0;
        case activation_kind::relu:
            return z > 0 ? 1.0 : 0.0;
        case activation_kind::elu:
            return z > 0 ? 1.0 : std::exp(z);
        case activation_kind::selu:
            return z > 0 ? kSeluScale : kSeluScale * kSeluAlpha * std::exp(z);
        case activation_kind::sigmoid: {
            const double s = 1.0 / (1.0 + std::exp(-z));
            return s * (1.0 - s);
        }
        case activation_kind::tanh: {
            const double t = std::tanh(z);
            return 1.0 - t * t;
        }
        case activation_kind::softmax:
            break;
    }
    throw std::logic_error("softmax is not element-wise");
}

}  // namespace nnfuse::test
