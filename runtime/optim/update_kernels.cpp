// The optimizers' update rules per SIMD target (Highway); contract and formulas in update_kernels.hpp.
// Whole vectors first, then the tail one lane at a time through the same operations (CappedTag<float, 1>), so an
// element's result does not depend on where it sits.
// Keras's formulas as written on every target: without this, gcc (-ffp-contract=fast is its C++ default) fuses a
// multiply and an add into an FMA on AVX2/AVX-512, in whole vectors but not in the one-lane tail, so results would
// depend on the CPU and on an element's position. Before every include, so that all of this TU has the same options.
#pragma GCC optimize("fp-contract=off")

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "runtime/optim/update_kernels.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/optim/update_kernels.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// body(d, k) for k = 0, lanes, 2 lanes, ... while a whole vector fits, then body(d1, k) for each remaining k.
template <class Body>
HWY_INLINE void ForEachVector(std::size_t n, const Body& body) {
    const hn::ScalableTag<float> d;
    const std::size_t lanes = hn::Lanes(d);
    std::size_t k = 0;
    for (; k + lanes <= n; k += lanes) body(d, k);
    const hn::CappedTag<float, 1> d1;
    for (; k < n; ++k) body(d1, k);
}

void SgdUpdate(float* HWY_RESTRICT w, const float* HWY_RESTRICT g, std::size_t n, float lr) {
    ForEachVector(n, [&](auto d, std::size_t k) {
        const auto step = hn::Mul(hn::Set(d, lr), hn::LoadU(d, g + k));
        hn::StoreU(hn::Sub(hn::LoadU(d, w + k), step), d, w + k);
    });
}

void SgdMomentumUpdate(float* HWY_RESTRICT w, float* HWY_RESTRICT v, const float* HWY_RESTRICT g, std::size_t n,
                       float lr, float mu) {
    ForEachVector(n, [&](auto d, std::size_t k) {
        const auto lr_g = hn::Mul(hn::Set(d, lr), hn::LoadU(d, g + k));
        const auto v_new = hn::Sub(hn::Mul(hn::Set(d, mu), hn::LoadU(d, v + k)), lr_g);
        hn::StoreU(v_new, d, v + k);
        hn::StoreU(hn::Add(hn::LoadU(d, w + k), v_new), d, w + k);
    });
}

void SgdNesterovUpdate(float* HWY_RESTRICT w, float* HWY_RESTRICT v, const float* HWY_RESTRICT g, std::size_t n,
                       float lr, float mu) {
    ForEachVector(n, [&](auto d, std::size_t k) {
        const auto mu_v = hn::Set(d, mu);
        const auto lr_g = hn::Mul(hn::Set(d, lr), hn::LoadU(d, g + k));
        const auto v_new = hn::Sub(hn::Mul(mu_v, hn::LoadU(d, v + k)), lr_g);
        hn::StoreU(v_new, d, v + k);
        hn::StoreU(hn::Add(hn::LoadU(d, w + k), hn::Sub(hn::Mul(mu_v, v_new), lr_g)), d, w + k);
    });
}

void AdamUpdate(float* HWY_RESTRICT w, float* HWY_RESTRICT m, float* HWY_RESTRICT v, const float* HWY_RESTRICT g,
                std::size_t n, float alpha, float b1, float one_minus_b1, float b2, float one_minus_b2, float eps) {
    ForEachVector(n, [&](auto d, std::size_t k) {
        const auto gk = hn::LoadU(d, g + k);
        const auto m_new = hn::Add(hn::Mul(hn::Set(d, b1), hn::LoadU(d, m + k)), hn::Mul(hn::Set(d, one_minus_b1), gk));
        const auto v_new =
            hn::Add(hn::Mul(hn::Set(d, b2), hn::LoadU(d, v + k)), hn::Mul(hn::Mul(hn::Set(d, one_minus_b2), gk), gk));
        hn::StoreU(m_new, d, m + k);
        hn::StoreU(v_new, d, v + k);
        const auto step = hn::Div(hn::Mul(hn::Set(d, alpha), m_new), hn::Add(hn::Sqrt(v_new), hn::Set(d, eps)));
        hn::StoreU(hn::Sub(hn::LoadU(d, w + k), step), d, w + k);
    });
}

std::int64_t DispatchedTarget() { return HWY_TARGET; }

}  // namespace nnfuse::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse {

HWY_EXPORT(SgdUpdate);
HWY_EXPORT(SgdMomentumUpdate);
HWY_EXPORT(SgdNesterovUpdate);
HWY_EXPORT(AdamUpdate);
HWY_EXPORT(DispatchedTarget);

void sgd_update(float* w, const float* g, std::size_t n, float lr) { HWY_DYNAMIC_DISPATCH(SgdUpdate)(w, g, n, lr); }

void sgd_momentum_update(float* w, float* v, const float* g, std::size_t n, float lr, float mu) {
    HWY_DYNAMIC_DISPATCH(SgdMomentumUpdate)(w, v, g, n, lr, mu);
}

void sgd_nesterov_update(float* w, float* v, const float* g, std::size_t n, float lr, float mu) {
    HWY_DYNAMIC_DISPATCH(SgdNesterovUpdate)(w, v, g, n, lr, mu);
}

void adam_update(float* w, float* m, float* v, const float* g, std::size_t n, float alpha, float b1, float one_minus_b1,
                 float b2, float one_minus_b2, float eps) {
    HWY_DYNAMIC_DISPATCH(AdamUpdate)(w, m, v, g, n, alpha, b1, one_minus_b1, b2, one_minus_b2, eps);
}

std::int64_t update_kernels_target() { return HWY_DYNAMIC_DISPATCH(DispatchedTarget)(); }

std::int64_t update_kernels_compiled_targets() { return HWY_TARGETS; }

}  // namespace nnfuse
#endif  // HWY_ONCE
