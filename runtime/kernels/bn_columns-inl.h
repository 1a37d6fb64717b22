// Batch normalization's per-column operations, per SIMD target (namespace bn_detail): each works on one vector of
// features (a column, partial when kPartial) over the rows of one block or step, with per-feature constants and
// accumulators in registers.
//   NormalizeValue, ColumnNormalizer, NormalizeColumnBlock: y = Act(gamma * (x - mean) * inv_std + beta), in one
//   order of operations that the kernels recomputing y share.
//   ColumnBlockGradientSums, GradientSums, FinishColumnGradients / FinishGradients: sum(dz), sum(dz * (x - mean)),
//   dgamma, dbeta and the dx coefficients, with dz = dy * Act'(y) (PreActivationGradient), y read (StoredOutput) or
//   recomputed from x (RecomputedOutput).
//   InputGradientColumnBlock: dx = gamma * inv_std * dz + dev_coef * (x - mean) + const_coef.
//   InferenceAffine, InferColumnBlock: y = Act(x * s + t).
// Output columns go through StoreOutputColumn<kPartial, kStream> (non-temporal when the pass streams).
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_BN_COLUMNS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_BN_COLUMNS_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_BN_COLUMNS_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_BN_COLUMNS_INL_H_
#endif

#include <cstddef>

#include "dsl/activation.hpp"
#include "hwy/highway.h"
#include "runtime/kernels/activation-inl.h"
#include "runtime/kernels/bn_traversal-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace bn_detail {

// dz = dy * Act'(y), the gradient at the activation's input.
template <activation_kind Act, class D, class V = hn::Vec<D>>
HWY_INLINE V PreActivationGradient(D d, V dy, V y) {
    if constexpr (Act == activation_kind::linear) {
        (void)d;
        (void)y;
        return dy;
    } else {
        return hn::Mul(dy, DerivativeFromOutput<Act>(d, y));
    }
}

// y = Act((x - mean) * scale + shift), scale = inv_std * gamma (inv_std alone without Scale), shift = beta (not added
// without Center): the one sequence of operations by which every training-mode BN output is formed, so that a kernel
// that recomputes y (or applies the BN while it reads, conv2d_bn_input-inl.h) gets the bits the BN pass stores.
template <activation_kind Act, bool Center, class D, class V = hn::Vec<D>>
HWY_INLINE V NormalizeValue(D d, V x, V mean, V scale, [[maybe_unused]] V shift) {
    const V centered = hn::Sub(x, mean);
    if constexpr (Center) {
        return Activate<Act>(d, hn::MulAdd(centered, scale, shift));
    } else {
        return Activate<Act>(d, hn::Mul(centered, scale));
    }
}

// The per-feature constants of NormalizeValue for one column.
template <bool kPartial, bool Scale, bool Center>
struct ColumnNormalizer {
    hn::Vec<DF> mean, scale, shift;
    HWY_INLINE ColumnNormalizer(std::size_t count, const float* HWY_RESTRICT mean_p, const float* HWY_RESTRICT inv_std,
                                const float* HWY_RESTRICT gamma, const float* HWY_RESTRICT beta) {
        const DF d;
        mean = LoadColumn<kPartial>(d, mean_p, count);
        scale = LoadColumn<kPartial>(d, inv_std, count);
        if constexpr (Scale) scale = hn::Mul(scale, LoadColumn<kPartial>(d, gamma, count));
        shift = hn::Zero(d);
        if constexpr (Center) shift = LoadColumn<kPartial>(d, beta, count);
    }
    template <activation_kind Act>
    HWY_INLINE hn::Vec<DF> Apply(hn::Vec<DF> x) const {
        return NormalizeValue<Act, Center>(DF(), x, mean, scale, shift);
    }
};

// Where the backward passes take the BN's output y from: the stored array (StoredOutput), or recomputed from x
// (RecomputedOutput), the same bits. Load(d, x, y, at, count) gives the column at offset `at`.
struct StoredOutput {
    template <bool kPartial, activation_kind Act, class D>
    HWY_INLINE hn::Vec<D> Load(D d, const float* HWY_RESTRICT /*x*/, const float* HWY_RESTRICT y, std::size_t at,
                               std::size_t count) const {
        return LoadColumn<kPartial>(d, y + at, count);
    }
};
template <bool kPartial, bool Scale, bool Center>
struct RecomputedOutput {
    ColumnNormalizer<kPartial, Scale, Center> normalizer;
    template <bool kPartialLoad, activation_kind Act, class D>
    HWY_INLINE hn::Vec<D> Load(D d, const float* HWY_RESTRICT x, const float* HWY_RESTRICT /*y*/, std::size_t at,
                               std::size_t count) const {
        return normalizer.template Apply<Act>(LoadColumn<kPartialLoad>(d, x + at, count));
    }
};

template <bool kPartial, activation_kind Act, class D, class Output = StoredOutput>
HWY_INLINE hn::Vec<D> LoadPreActivationGradient(D d, const float* HWY_RESTRICT dy, const float* HWY_RESTRICT y,
                                                std::size_t count, const float* HWY_RESTRICT x = nullptr,
                                                const Output& output = {}) {
    const hn::Vec<D> dy_v = LoadColumn<kPartial>(d, dy, count);
    if constexpr (Act == activation_kind::linear) {
        (void)y;
        (void)x;
        (void)output;
        return dy_v;
    } else {
        return PreActivationGradient<Act>(d, dy_v, output.template Load<kPartial, Act>(d, x, y, 0, count));
    }
}

// ---------------------------------------------------------------- training forward: normalize

template <bool kPartial, activation_kind Act, bool Scale, bool Center, bool kStream = false>
HWY_INLINE void NormalizeColumnBlock(const float* x, float* y, std::size_t stride, std::size_t block_rows,
                                     std::size_t count, const float* HWY_RESTRICT mean,
                                     const float* HWY_RESTRICT inv_std, const float* HWY_RESTRICT gamma,
                                     const float* HWY_RESTRICT beta) {
    const DF d;
    const ColumnNormalizer<kPartial, Scale, Center> normalizer(count, mean, inv_std, gamma, beta);
    for (std::size_t r = 0; r < block_rows; ++r) {
        StoreOutputColumn<kPartial, kStream>(
            d, normalizer.template Apply<Act>(LoadColumn<kPartial>(d, x + r * stride, count)), y + r * stride, count);
    }
}

// ---------------------------------------------------------------- backward

// Rows ahead of the one being read whose column ColumnBlockGradientSums asks the cache for.
inline constexpr std::size_t kPrefetchAheadRows = 64;

// One column over the rows of one block: sum(dz) and sum(dz * (x - mean)), four accumulators each. With
// readable_rows > 0 (rows of x, y and dy from the block's first on), the column of the rows kPrefetchAheadRows ahead
// is prefetched: a column read row after row is a stride the hardware prefetchers do not run ahead of.
template <bool kPartial, activation_kind Act, class V = hn::Vec<DF>, class Output = StoredOutput>
HWY_INLINE void ColumnBlockGradientSums(const float* x, const float* y, const float* dy, std::size_t stride,
                                        std::size_t block_rows, std::size_t count, const float* HWY_RESTRICT mean,
                                        V& sum_dz_out, V& sum_dz_dev_out, const Output& output = {},
                                        std::size_t readable_rows = 0) {
    const DF d;
    const V mean_v = LoadColumn<kPartial>(d, mean, count);
    V a0 = hn::Zero(d), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    std::size_t r = 0;
    for (; r + 4 <= block_rows; r += 4) {
        if (r + kPrefetchAheadRows + 4 <= readable_rows) {
            for (std::size_t ahead = r + kPrefetchAheadRows; ahead < r + kPrefetchAheadRows + 4; ++ahead) {
                hwy::Prefetch(x + ahead * stride);
                hwy::Prefetch(dy + ahead * stride);
                if (y != nullptr) hwy::Prefetch(y + ahead * stride);
            }
        }
        const std::size_t at0 = r * stride, at1 = at0 + stride, at2 = at1 + stride, at3 = at2 + stride;
        const V dz0 = LoadPreActivationGradient<kPartial, Act>(d, dy + at0, At(y, at0), count, x + at0, output);
        const V dz1 = LoadPreActivationGradient<kPartial, Act>(d, dy + at1, At(y, at1), count, x + at1, output);
        const V dz2 = LoadPreActivationGradient<kPartial, Act>(d, dy + at2, At(y, at2), count, x + at2, output);
        const V dz3 = LoadPreActivationGradient<kPartial, Act>(d, dy + at3, At(y, at3), count, x + at3, output);
        a0 = hn::Add(a0, dz0);
        a1 = hn::Add(a1, dz1);
        a2 = hn::Add(a2, dz2);
        a3 = hn::Add(a3, dz3);
        b0 = hn::MulAdd(dz0, hn::Sub(LoadColumn<kPartial>(d, x + at0, count), mean_v), b0);
        b1 = hn::MulAdd(dz1, hn::Sub(LoadColumn<kPartial>(d, x + at1, count), mean_v), b1);
        b2 = hn::MulAdd(dz2, hn::Sub(LoadColumn<kPartial>(d, x + at2, count), mean_v), b2);
        b3 = hn::MulAdd(dz3, hn::Sub(LoadColumn<kPartial>(d, x + at3, count), mean_v), b3);
    }
    for (; r < block_rows; ++r) {
        const std::size_t at = r * stride;
        const V dz = LoadPreActivationGradient<kPartial, Act>(d, dy + at, At(y, at), count, x + at, output);
        a0 = hn::Add(a0, dz);
        b0 = hn::MulAdd(dz, hn::Sub(LoadColumn<kPartial>(d, x + at, count), mean_v), b0);
    }
    sum_dz_out = hn::Add(hn::Add(a0, a1), hn::Add(a2, a3));
    sum_dz_dev_out = hn::Add(hn::Add(b0, b1), hn::Add(b2, b3));
}

// When the whole batch is one block: dgamma, dbeta and the dx coefficients of a column straight from
// its float sums (see FinishGradients).
template <bool kPartial, bool Scale, bool Center, class V = hn::Vec<DF>>
HWY_INLINE void FinishColumnGradients(V sum_dz, V sum_dz_dev, std::size_t rows, std::size_t count,
                                      const float* HWY_RESTRICT gamma, const float* HWY_RESTRICT inv_std,
                                      float* HWY_RESTRICT dgamma, float* HWY_RESTRICT dbeta,
                                      float* HWY_RESTRICT dev_coef, float* HWY_RESTRICT const_coef) {
    const DF d;
    const V inv = LoadColumn<kPartial>(d, inv_std, count);
    const V dgamma_v = hn::Mul(sum_dz_dev, inv);
    if constexpr (Scale) StoreColumn<kPartial>(d, dgamma_v, dgamma, count);
    if constexpr (Center) StoreColumn<kPartial>(d, sum_dz, dbeta, count);
    if (dev_coef == nullptr) return;  // no dx pass
    V dz_coef = inv;
    if constexpr (Scale) dz_coef = hn::Mul(dz_coef, LoadColumn<kPartial>(d, gamma, count));
    const V minus_dz_coef_per_row = hn::Neg(hn::Div(dz_coef, hn::Set(d, static_cast<float>(rows))));
    StoreColumn<kPartial>(d, hn::Mul(hn::Mul(minus_dz_coef_per_row, dgamma_v), inv), dev_coef, count);
    StoreColumn<kPartial>(d, hn::Mul(minus_dz_coef_per_row, sum_dz), const_coef, count);
}

template <std::size_t kPadded>
struct GradientSums {
    HWY_ALIGN float block_dz[kPadded];
    HWY_ALIGN float block_dz_dev[kPadded];
    HWY_ALIGN double dz[kPadded] = {};      // sum(dz)
    HWY_ALIGN double dz_dev[kPadded] = {};  // sum(dz * (x - mean))

    // Adds features [begin, end) of a block's partial sums.
    HWY_INLINE void MergeBlock(std::size_t end, std::size_t begin = 0) {
        const DD dd;
        for (std::size_t j = begin; j < end; j += hn::Lanes(dd)) {
            hn::Store(hn::Add(hn::Load(dd, dz + j), LoadWidened(dd, block_dz + j)), dd, dz + j);
            hn::Store(hn::Add(hn::Load(dd, dz_dev + j), LoadWidened(dd, block_dz_dev + j)), dd, dz_dev + j);
        }
    }
};

// For features [j, j + count) of the panel: dgamma, dbeta, and the dx coefficients
// dx = gamma*inv_std*dz + dev_coef*(x - mean) + const_coef, with
// dev_coef = -gamma*inv_std^2*dgamma/m and const_coef = -gamma*inv_std*dbeta/m.
template <bool kPartial, bool Scale, bool Center, std::size_t kPadded>
HWY_INLINE void FinishGradients(const GradientSums<kPadded>& sums, std::size_t j, std::size_t count, double rows,
                                const float* HWY_RESTRICT gamma, const float* HWY_RESTRICT inv_std,
                                float* HWY_RESTRICT dgamma, float* HWY_RESTRICT dbeta, float* HWY_RESTRICT dev_coef,
                                float* HWY_RESTRICT const_coef) {
    const DD dd;
    const DFToDouble df;
    using VD = hn::Vec<DD>;
    const VD inv = hn::PromoteTo(dd, LoadColumn<kPartial>(df, inv_std, count));
    const VD sum_dz = hn::Load(dd, sums.dz + j);
    const VD dgamma_v = hn::Mul(hn::Load(dd, sums.dz_dev + j), inv);
    if constexpr (Scale) StoreNarrowed<kPartial>(dd, dgamma_v, dgamma, count);
    if constexpr (Center) StoreNarrowed<kPartial>(dd, sum_dz, dbeta, count);
    if (dev_coef == nullptr) return;  // no dx pass
    VD dz_coef = inv;
    if constexpr (Scale) dz_coef = hn::Mul(dz_coef, hn::PromoteTo(dd, LoadColumn<kPartial>(df, gamma, count)));
    const VD minus_dz_coef_per_row = hn::Div(hn::Neg(dz_coef), hn::Set(dd, rows));
    StoreNarrowed<kPartial>(dd, hn::Mul(hn::Mul(minus_dz_coef_per_row, dgamma_v), inv), dev_coef, count);
    StoreNarrowed<kPartial>(dd, hn::Mul(minus_dz_coef_per_row, sum_dz), const_coef, count);
}

template <bool kPartial, activation_kind Act, bool Scale, bool kStream = false, class Output = StoredOutput>
HWY_INLINE void InputGradientColumnBlock(const float* x, const float* y, const float* dy, float* dx, std::size_t stride,
                                         std::size_t block_rows, std::size_t count, const float* HWY_RESTRICT mean,
                                         const float* HWY_RESTRICT inv_std, const float* HWY_RESTRICT gamma,
                                         const float* HWY_RESTRICT dev_coef, const float* HWY_RESTRICT const_coef,
                                         const Output& output = {}) {
    const DF d;
    using V = hn::Vec<DF>;
    const V mean_v = LoadColumn<kPartial>(d, mean, count);
    V dz_coef = LoadColumn<kPartial>(d, inv_std, count);
    if constexpr (Scale) dz_coef = hn::Mul(dz_coef, LoadColumn<kPartial>(d, gamma, count));
    const V dev_coef_v = LoadColumn<kPartial>(d, dev_coef, count);
    const V const_coef_v = LoadColumn<kPartial>(d, const_coef, count);
    for (std::size_t r = 0; r < block_rows; ++r) {
        const std::size_t at = r * stride;
        const V dz = LoadPreActivationGradient<kPartial, Act>(d, dy + at, At(y, at), count, x + at, output);
        const V dev = hn::Sub(LoadColumn<kPartial>(d, x + at, count), mean_v);
        StoreOutputColumn<kPartial, kStream>(d, hn::MulAdd(dz_coef, dz, hn::MulAdd(dev_coef_v, dev, const_coef_v)),
                                             dx + at, count);
    }
}

// ---------------------------------------------------------------- inference

// s = gamma / sqrt(moving_var + epsilon) and t = beta - moving_mean * s of one column, stored whole
// (the lanes past a partial column hold finite values).
template <bool kPartial, bool Scale, bool Center>
HWY_INLINE void InferenceAffine(std::size_t count, float epsilon, const float* HWY_RESTRICT gamma,
                                const float* HWY_RESTRICT beta, const float* HWY_RESTRICT moving_mean,
                                const float* HWY_RESTRICT moving_var, float* HWY_RESTRICT s_out,
                                float* HWY_RESTRICT t_out) {
    const DF d;
    using V = hn::Vec<DF>;
    const V std_dev = hn::Sqrt(hn::Add(LoadColumn<kPartial>(d, moving_var, count), hn::Set(d, epsilon)));
    V s;
    if constexpr (Scale) {
        s = hn::Div(LoadColumn<kPartial>(d, gamma, count), std_dev);
    } else {
        s = hn::Div(hn::Set(d, 1.0f), std_dev);
    }
    V t = hn::Neg(hn::Mul(LoadColumn<kPartial>(d, moving_mean, count), s));
    if constexpr (Center) t = hn::Add(t, LoadColumn<kPartial>(d, beta, count));
    hn::Store(s, d, s_out);
    hn::Store(t, d, t_out);
}

template <bool kPartial, activation_kind Act, bool kStream = false>
HWY_INLINE void InferColumnBlock(const float* x, float* y, std::size_t stride, std::size_t block_rows,
                                 std::size_t count, const float* HWY_RESTRICT s, const float* HWY_RESTRICT t) {
    const DF d;
    using V = hn::Vec<DF>;
    const V s_v = hn::Load(d, s);
    const V t_v = hn::Load(d, t);
    for (std::size_t r = 0; r < block_rows; ++r) {
        const std::size_t at = r * stride;
        StoreOutputColumn<kPartial, kStream>(
            d, Activate<Act>(d, hn::MulAdd(LoadColumn<kPartial>(d, x + at, count), s_v, t_v)), y + at, count);
    }
}

}  // namespace bn_detail

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_BN_COLUMNS_INL_H_
