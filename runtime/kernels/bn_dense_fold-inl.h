// Batch normalization folded into the dense layer that reads it, per SIMD target (Highway).
//
// When a trainable BN (no activation of its own) normalizes the model's input and a dense layer reads its output,
// the generator keeps only xhat = (x - mean) * inv_std in memory and lets the dense layer apply gamma and beta:
//   dense(gamma * xhat + beta) = xhat . (gamma (.) kernel) + (bias + beta . kernel)
// and takes BN's backward reductions from the dense layer's own gradient sums, so the gradient with respect to
// BN's output (an [N, In] matrix product) and BN's reductions pass are never computed:
//   A = xhat^T . dz (dense's kernel-gradient product run on xhat), s = sum over rows of dz (dense's dbias):
//   dkernel[c][j] = gamma[c] * A[c][j] + beta[c] * s[j]
//   dgamma[c]     = sum_j kernel[c][j] * A[c][j]        (= sum_n dy[n][c] * xhat[n][c], dy = dz . kernel^T)
//   dbeta[c]      = sum_j kernel[c][j] * s[j]           (= sum_n dy[n][c])
//
// BnFoldIntoDense<In, Units>(gamma, beta, kernel, bias, folded_kernel, folded_bias)
//   requires: gamma, beta [In]; kernel, folded_kernel [In, Units]; bias, folded_bias [Units]; bias may be nullptr
//             (a dense layer without bias: the folded bias is beta . kernel alone). Outputs overlap no input.
//   ensures:  folded_kernel = gamma (.) kernel (row c scaled by gamma[c]); folded_bias = bias + beta . kernel.
// BnFoldIntoDenseTransposed<In, Units>(gamma, beta, kernel, bias, folded_kernel_t, folded_bias)
//   requires: as BnFoldIntoDense, with folded_kernel_t [Units, In].
//   ensures:  folded_kernel_t = (gamma (.) kernel)^T, the layout DenseForwardTransposedKernel reads; folded_bias =
//             bias + beta . kernel, each unit's In products summed along In, one partial sum per lane, the lanes then
//             added by SumOfLanes.
// BnDenseGradientEpilogue<In, Units>(gamma, beta, kernel, dz_sum, xhat_dz, dkernel, dgamma, dbeta)
//   requires: xhat_dz = A [In, Units]; dz_sum = s [Units]; dkernel [In, Units]; dgamma, dbeta [In]; outputs overlap
//             no input (A is not rewritten in place: a row's masked tail store would stall the next row's load).
//   ensures:  dkernel, dgamma, dbeta as above (overwritten, never accumulated).
// One row of the kernel (Units floats) is a few vectors held in registers; a partial last vector is loaded with
// zeros in its unused lanes, so the row sums never see them. No heap allocation.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h (after softmax_xent-inl.h's vector helpers).

#if defined(NNFUSE_RUNTIME_KERNELS_BN_DENSE_FOLD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_BN_DENSE_FOLD_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_BN_DENSE_FOLD_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_BN_DENSE_FOLD_INL_H_
#endif

#include <cstddef>

#include "hwy/highway.h"
#include "runtime/kernels/gemm-inl.h"
#include "runtime/kernels/simd_columns-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace bn_dense_detail {

using vector_helpers::FloatTag;
using vector_helpers::kLanes;
using V = hn::Vec<FloatTag>;

// A row of Units floats as vectors: lanes of vector v are floats [v * kLanes, v * kLanes + LanesOf(v)).
template <std::size_t Units>
struct Row {
    static constexpr std::size_t kVectors = vector_helpers::VectorsFor(Units);
    static constexpr std::size_t LanesOf(std::size_t v) {
        return v + 1 == kVectors ? vector_helpers::LastVectorLanes(Units) : kLanes;
    }
    template <class Body>
    static HWY_INLINE void ForEachVector(const Body& body) {
        vector_helpers::Unroll<kVectors>(body);
    }
    static HWY_INLINE V Load(const float* HWY_RESTRICT p, std::size_t v) {
        return vector_helpers::LoadFirstN(FloatTag(), p + v * kLanes, LanesOf(v));
    }
    static HWY_INLINE void Store(V value, float* HWY_RESTRICT p, std::size_t v) {
        vector_helpers::StoreFirstN(value, FloatTag(), p + v * kLanes, LanesOf(v));
    }
};

// The sums of the lanes of four vectors, as the four lanes of one 128-bit vector: halves added down to four lanes,
// then a 4x4 transpose-and-add (one lane-sum costs a few shuffles; four of them at once cost about as much as one).
// (Not on HWY_SCALAR: one lane, no shuffles; its lane sums are the lanes.)
#if HWY_TARGET != HWY_SCALAR
#define NNFUSE_BN_DENSE_FOUR_ROW_SUMS 1
using D4 = hn::CappedTag<float, 4>;

template <class D>
HWY_INLINE hn::Vec<D4> FoldToFourLanes(D d, hn::Vec<D> v) {
    if constexpr (hn::MaxLanes(d) <= 4) {
        return v;
    } else {
        const hn::Half<D> dh;
        return FoldToFourLanes(dh, hn::Add(hn::LowerHalf(dh, v), hn::UpperHalf(dh, v)));
    }
}

HWY_INLINE hn::Vec<D4> FourLaneSums(V a, V b, V c, V e) {
    const D4 d4;
    const auto a4 = FoldToFourLanes(FloatTag(), a), b4 = FoldToFourLanes(FloatTag(), b);
    const auto c4 = FoldToFourLanes(FloatTag(), c), e4 = FoldToFourLanes(FloatTag(), e);
    // [a0+a2, b0+b2, a1+a3, b1+b3] and the same for c, e; then the lower and upper halves of those added.
    const auto ab = hn::Add(hn::InterleaveLower(d4, a4, b4), hn::InterleaveUpper(d4, a4, b4));
    const auto ce = hn::Add(hn::InterleaveLower(d4, c4, e4), hn::InterleaveUpper(d4, c4, e4));
    return hn::Add(hn::ConcatLowerLower(d4, ce, ab), hn::ConcatUpperUpper(d4, ce, ab));
}
#else
#define NNFUSE_BN_DENSE_FOUR_ROW_SUMS 0
#endif

}  // namespace bn_dense_detail

template <std::size_t In, std::size_t Units>
void BnFoldIntoDense(const float* HWY_RESTRICT gamma, const float* HWY_RESTRICT beta, const float* HWY_RESTRICT kernel,
                     const float* HWY_RESTRICT bias, float* HWY_RESTRICT folded_kernel,
                     float* HWY_RESTRICT folded_bias) {
    using namespace bn_dense_detail;
    using R = Row<Units>;
    const FloatTag d;
    V shift[R::kVectors];
    R::ForEachVector([&](auto v) __attribute__((always_inline)) { shift[v] = hn::Zero(d); });
    for (std::size_t c = 0; c < In; ++c) {
        const V g = hn::Set(d, gamma[c]), b = hn::Set(d, beta[c]);
        const float* HWY_RESTRICT row = kernel + c * Units;
        R::ForEachVector([&](auto v) __attribute__((always_inline)) {
            const V w = R::Load(row, v);
            R::Store(hn::Mul(g, w), folded_kernel + c * Units, v);
            shift[v] = hn::MulAdd(b, w, shift[v]);
        });
    }
    R::ForEachVector([&](auto v) __attribute__((always_inline)) {
        R::Store(bias == nullptr ? shift[v] : hn::Add(R::Load(bias, v), shift[v]), folded_bias, v);
    });
}

template <std::size_t In, std::size_t Units>
void BnFoldIntoDenseTransposed(const float* HWY_RESTRICT gamma, const float* HWY_RESTRICT beta,
                               const float* HWY_RESTRICT kernel, const float* HWY_RESTRICT bias,
                               float* HWY_RESTRICT folded_kernel_t, float* HWY_RESTRICT folded_bias) {
    using R = bn_dense_detail::Row<In>;
    const bn_dense_detail::FloatTag d;
    dense_detail::Transpose<In, Units, Units, In>(kernel, folded_kernel_t);
    for (std::size_t u = 0; u < Units; ++u) {
        float* HWY_RESTRICT row = folded_kernel_t + u * In;
        bn_dense_detail::V shift = hn::Zero(d);
        for (std::size_t v = 0; v < R::kVectors; ++v) {
            const bn_dense_detail::V w = R::Load(row, v);
            shift = hn::MulAdd(R::Load(beta, v), w, shift);
            R::Store(hn::Mul(R::Load(gamma, v), w), row, v);
        }
        const float beta_dot_column = hn::GetLane(hn::SumOfLanes(d, shift));
        folded_bias[u] = bias == nullptr ? beta_dot_column : bias[u] + beta_dot_column;
    }
}

template <std::size_t In, std::size_t Units>
void BnDenseGradientEpilogue(const float* HWY_RESTRICT gamma, const float* HWY_RESTRICT beta,
                             const float* HWY_RESTRICT kernel, const float* HWY_RESTRICT dz_sum,
                             const float* HWY_RESTRICT xhat_dz, float* HWY_RESTRICT dkernel, float* HWY_RESTRICT dgamma,
                             float* HWY_RESTRICT dbeta) {
    using namespace bn_dense_detail;
    using R = Row<Units>;
    const FloatTag d;
    V s[R::kVectors];
    R::ForEachVector([&](auto v) __attribute__((always_inline)) { s[v] = R::Load(dz_sum, v); });
    // Row c: writes dkernel's row and returns the vectors whose lane sums are dgamma[c] and dbeta[c].
    const auto row = [&](std::size_t c, V & w_dot_a, V & w_dot_s) __attribute__((always_inline)) {
        const V g = hn::Set(d, gamma[c]), b = hn::Set(d, beta[c]);
        const float* HWY_RESTRICT w_row = kernel + c * Units;
        const float* HWY_RESTRICT a_row = xhat_dz + c * Units;
        w_dot_a = hn::Zero(d);
        w_dot_s = hn::Zero(d);
        R::ForEachVector([&](auto v) __attribute__((always_inline)) {
            const V w = R::Load(w_row, v), a = R::Load(a_row, v);
            w_dot_a = hn::MulAdd(w, a, w_dot_a);
            w_dot_s = hn::MulAdd(w, s[v], w_dot_s);
            R::Store(hn::MulAdd(g, a, hn::Mul(b, s[v])), dkernel + c * Units, v);
        });
    };
    // Rows in fours where the target has four lanes to sum them into, the rest one at a time.
    constexpr std::size_t kFourRowsEnd = NNFUSE_BN_DENSE_FOUR_ROW_SUMS ? In / 4 * 4 : 0;
#if NNFUSE_BN_DENSE_FOUR_ROW_SUMS
    const D4 d4;
    for (std::size_t c = 0; c < kFourRowsEnd; c += 4) {
        V wa[4], ws[4];
        for (std::size_t r = 0; r < 4; ++r) row(c + r, wa[r], ws[r]);
        hn::StoreU(FourLaneSums(wa[0], wa[1], wa[2], wa[3]), d4, dgamma + c);
        hn::StoreU(FourLaneSums(ws[0], ws[1], ws[2], ws[3]), d4, dbeta + c);
    }
#endif
    for (std::size_t c = kFourRowsEnd; c < In; ++c) {
        V wa, ws;
        row(c, wa, ws);
        dgamma[c] = hn::GetLane(hn::SumOfLanes(d, wa));
        dbeta[c] = hn::GetLane(hn::SumOfLanes(d, ws));
    }
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#undef NNFUSE_BN_DENSE_FOUR_ROW_SUMS
#endif  // NNFUSE_RUNTIME_KERNELS_BN_DENSE_FOLD_INL_H_
