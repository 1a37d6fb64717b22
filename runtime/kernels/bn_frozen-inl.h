// Backward of a frozen batch-normalization layer (trainable=false), per SIMD target.
//
// A frozen layer normalizes with its moving statistics in training too (Keras rule), so it is the
// affine map y = act(x * s + t) with s = gamma / sqrt(moving_var + epsilon): its input gradient is
// dx = dy * act'(y) * s, and it has no parameter gradients.
// requires: y is the forward output (may be nullptr when Act is linear); gamma nullptr means 1.

#if defined(NNFUSE_RUNTIME_KERNELS_BN_FROZEN_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_BN_FROZEN_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_BN_FROZEN_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_BN_FROZEN_INL_H_
#endif

#include <cmath>
#include <cstddef>

#include "hwy/highway.h"
#include "runtime/kernels/activation-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <std::size_t C, activation_kind Act, bool Scale>
void BnBackwardFrozen(const float* y, const float* dy, std::size_t rows, float epsilon, const float* gamma,
                      const float* moving_var, float* dx) {
    HWY_ALIGN float s[C];
    for (std::size_t c = 0; c < C; ++c) {
        s[c] = (Scale ? gamma[c] : 1.0f) / std::sqrt(moving_var[c] + epsilon);
    }
    const hn::ScalableTag<float> d;
    const std::size_t lanes = hn::Lanes(d);
    for (std::size_t r = 0; r < rows; ++r) {
        const std::size_t row = r * C;
        std::size_t c = 0;
        for (; c + lanes <= C; c += lanes) {
            auto g = hn::Mul(hn::LoadU(d, dy + row + c), hn::Load(d, s + c));
            if constexpr (Act != activation_kind::linear)
                g = hn::Mul(g, DerivativeFromOutput<Act>(d, hn::LoadU(d, y + row + c)));
            hn::StoreU(g, d, dx + row + c);
        }
        for (; c < C; ++c) {  // tail: one lane at a time with the same arithmetic
            const hn::CappedTag<float, 1> d1;
            auto g = hn::Mul(hn::LoadU(d1, dy + row + c), hn::Set(d1, s[c]));
            if constexpr (Act != activation_kind::linear)
                g = hn::Mul(g, DerivativeFromOutput<Act>(d1, hn::LoadU(d1, y + row + c)));
            hn::StoreU(g, d1, dx + row + c);
        }
    }
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_BN_FROZEN_INL_H_
