// SIMD activation functions and their derivatives, for the generated kernels (Highway, per target).
//
// Activate<kind>(d, z) applies the activation to pre-activations z, lane by lane.
// DerivativeFromOutput<kind>(d, y) is f'(z) written in terms of the output y = f(z), so that a
// backward pass needs only the layer's output, which is kept anyway as the next layer's input.
// The constants are Keras's (selu: Klambauer et al. 2017; elu alpha 1).
// requires: kind is element-wise (softmax is not: it is fused with the loss, softmax_xent-inl.h).
//
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_ACTIVATION_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_ACTIVATION_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_ACTIVATION_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_ACTIVATION_INL_H_
#endif

#include <cstddef>

#include "dsl/activation.hpp"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

inline constexpr float selu_alpha = 1.6732632423543772f;
inline constexpr float selu_scale = 1.0507009873554805f;

template <activation_kind Kind, class D, class V = hn::Vec<D>>
HWY_INLINE V Activate(D d, V z) {
    static_assert(Kind != activation_kind::softmax, "softmax is not element-wise: fuse it with the loss");
    if constexpr (Kind == activation_kind::linear) {
        return z;
    } else if constexpr (Kind == activation_kind::relu) {
        return hn::ZeroIfNegative(z);
    } else if constexpr (Kind == activation_kind::elu) {
        return hn::IfThenElse(hn::Gt(z, hn::Zero(d)), z, hn::Expm1(d, z));
    } else if constexpr (Kind == activation_kind::selu) {
        const V negative = hn::Mul(hn::Set(d, selu_alpha), hn::Expm1(d, z));
        return hn::Mul(hn::Set(d, selu_scale), hn::IfThenElse(hn::Gt(z, hn::Zero(d)), z, negative));
    } else if constexpr (Kind == activation_kind::sigmoid) {
        // Exp only ever sees -|z| <= 0: hwy::Exp wraps around instead of overflowing to inf for arguments above
        // about +177, so 1 / (1 + e^-z) would turn into 1 or NaN for very negative z. With e = e^-|z|,
        // sigmoid(z) = 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0.
        const V one = hn::Set(d, 1.0f);
        const V e = hn::Exp(d, hn::Neg(hn::Abs(z)));
        const V positive = hn::Div(one, hn::Add(one, e));
        return hn::IfThenElse(hn::Lt(z, hn::Zero(d)), hn::Mul(e, positive), positive);
    } else {
        return hn::Tanh(d, z);
    }
}

template <activation_kind Kind, class D, class V = hn::Vec<D>>
HWY_INLINE V DerivativeFromOutput(D d, V y) {
    static_assert(Kind != activation_kind::softmax, "softmax is not element-wise: fuse it with the loss");
    const V one = hn::Set(d, 1.0f);
    if constexpr (Kind == activation_kind::linear) {
        return one;
    } else if constexpr (Kind == activation_kind::relu) {
        return hn::IfThenElseZero(hn::Gt(y, hn::Zero(d)), one);
    } else if constexpr (Kind == activation_kind::elu) {
        // z <= 0: y = e^z - 1, so f'(z) = e^z = y + 1
        return hn::IfThenElse(hn::Gt(y, hn::Zero(d)), one, hn::Add(y, one));
    } else if constexpr (Kind == activation_kind::selu) {
        // z <= 0: y = scale*alpha*(e^z - 1), so f'(z) = scale*alpha*e^z = y + scale*alpha
        const V scale = hn::Set(d, selu_scale);
        return hn::IfThenElse(hn::Gt(y, hn::Zero(d)), scale, hn::Add(y, hn::Set(d, selu_scale * selu_alpha)));
    } else if constexpr (Kind == activation_kind::sigmoid) {
        return hn::Mul(y, hn::Sub(one, y));
    } else {
        return hn::NegMulAdd(y, y, one);  // 1 - y^2
    }
}

// y = act(x) over rows * N values (a standalone Activation layer with nothing to fuse into).
template <std::size_t N, activation_kind Kind>
void ActivationForward(const float* x, std::size_t rows, float* y) {
    const hn::ScalableTag<float> d;
    const hn::CappedTag<float, 1> d1;
    const std::size_t total = rows * N, lanes = hn::Lanes(d);
    std::size_t i = 0;
    for (; i + lanes <= total; i += lanes) hn::StoreU(Activate<Kind>(d, hn::LoadU(d, x + i)), d, y + i);
    for (; i < total; ++i) hn::StoreU(Activate<Kind>(d1, hn::LoadU(d1, x + i)), d1, y + i);
}

// dx = dy * act'(x), the derivative taken from the output y.
template <std::size_t N, activation_kind Kind>
void ActivationBackward(const float* y, const float* dy, std::size_t rows, float* dx) {
    const hn::ScalableTag<float> d;
    const hn::CappedTag<float, 1> d1;
    const std::size_t total = rows * N, lanes = hn::Lanes(d);
    std::size_t i = 0;
    for (; i + lanes <= total; i += lanes) {
        hn::StoreU(hn::Mul(hn::LoadU(d, dy + i), DerivativeFromOutput<Kind>(d, hn::LoadU(d, y + i))), d, dx + i);
    }
    for (; i < total; ++i) {
        hn::StoreU(hn::Mul(hn::LoadU(d1, dy + i), DerivativeFromOutput<Kind>(d1, hn::LoadU(d1, y + i))), d1, dx + i);
    }
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_ACTIVATION_INL_H_
