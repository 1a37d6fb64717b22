// Batch normalization over the last axis, fused with an element-wise activation: the SIMD building
// blocks (Highway, per target) that the generated code instantiates with the model's shapes.
//
// x, y, dy, dx are row-major [rows, C] float32; per-feature arrays hold C floats. C is a compile-time
// constant, rows a run-time value; m = rows. Act is element-wise (not softmax). Scale = false means
// gamma is nullptr and 1; Center = false means beta is nullptr and 0. Semantics: DESIGN.md, "Batch
// normalization semantics".
//
// BnForwardTrain  requires rows >= 2 (the caller checks and throws).
//   ensures batch_mean = mean(x), batch_var = mean((x - mean)^2) (biased), inv_std = 1/sqrt(var + epsilon),
//           y = Act(gamma * (x - mean) * inv_std + beta).
// BnForwardInfer  requires rows >= 1.
//   ensures y = Act(x * s + t), s = gamma / sqrt(moving_var + epsilon), t = beta - moving_mean * s.
// BnBackward      requires the forward's x, batch_mean, inv_std; y = its output (may be nullptr when Act is
//                 linear); dy = dL/dy of the output y; scratch = 2*C floats; dgamma non-null iff Scale,
//                 dbeta non-null iff Center.
//   ensures dz = dy * Act'(y), dbeta = sum(dz), dgamma = sum(dz * xhat) with xhat = (x - mean) * inv_std,
//           dx = gamma * inv_std / m * (m * dz - dbeta - xhat * dgamma) unless dx == nullptr (BN is the
//           first layer: no dx pass at all, and scratch is not touched); otherwise scratch holds the dx
//           pass's two per-feature coefficients.
//
// Precision. Statistics and gradient sums are accumulated per SIMD lane in float over a block of
// kBlockRows rows, then merged in double: the float error is bounded by one block, not by rows.
// The forward statistics of a block come from two passes over it while it is in L1 (the corrected
// two-pass algorithm: center = the block's float mean, then sum(x - center) and sum((x - center)^2)),
// and blocks are merged with Chan et al.'s pairwise update of (count, mean, M2). The variance is
// never E[x^2] - E[x]^2. A batch of at most kBlockRows rows is one block and is finished in float
// (its sums are float anyway); otherwise mean, variance and the backward coefficients are finished in
// double, and 1/sqrt(var + epsilon) in float (a correctly rounded sqrt and division).
//
// Memory passes: training forward = one statistics pass + one normalize pass; backward = one
// reductions pass + one dx pass; inference = one pass. Vectors run across features (a row is
// contiguous); the loops go rows -> vector column -> rows of the step, so per-feature constants and
// accumulators stay in registers. The statistics pass steps by whole blocks, so that a block's column
// (kBlockRows x one vector) is still in L1 for its second look; the other passes of a batch larger
// than a block step by kStreamRows rows, which streams better from memory (inference over rows of a whole KiB goes
// row by row: kInferRowByRow); the second pass of each kernel runs last rows first, to start on what the first pass
// left in cache. A batch of one block, and a
// batch of up to kColumnRows rows whose columns stay in L1 (kColumnsSpreadOverL1), do both passes column by
// column instead: a column's second pass reads it from L1, where its first pass left it.
// The output pass of a batch of several blocks (y, dx) writes with non-temporal stores when that output is at least
// bn_streaming_output_bytes (streaming_output.hpp) and its row vectors are aligned (StreamsOutput): it would not stay
// in cache, and ordinary stores would first read every line they overwrite.
// When C is not a multiple of the lane count, the last column is partial: masked loads and stores
// where memory operations cannot fault, a copy through a stack buffer elsewhere.
// No heap allocation: per-feature double accumulators live on the stack for a panel of up to
// kPanelFeatures features (at most 28 KiB); wider layers are processed panel by panel.
//
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_BATCH_NORM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_BATCH_NORM_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_BATCH_NORM_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_BATCH_NORM_INL_H_
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "dsl/activation.hpp"
#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "runtime/cache_line.hpp"
#include "runtime/kernels/activation-inl.h"
#include "runtime/kernels/streaming_output.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace bn_detail {

// Rows whose float partial sums are merged into the double accumulators at once. Bounds the float
// rounding error to that of a 128-term sum, keeps one column of a block (8 KiB with AVX-512) in L1
// for the block's second pass, and makes the per-block double merge a few percent of the work.
inline constexpr std::size_t kBlockRows = 128;
// Rows per step of a pass over a batch of several blocks that needs no second look at its rows (the
// normalize, dx and inference passes, the backward sums): a column then spans few rows (pages) at a
// time, which the prefetchers stream well; measured 1.3-1.7x faster than 128-row columns once the
// batch is out of L2 (C = 784, N >= 4096). A batch of one block is done in one step.
inline constexpr std::size_t kStreamRows = 8;
// Rows up to which the training forward and the backward go column by column through a batch of several blocks
// (statistics, then y; sums, then dx): one column of x is then at most 16 KiB with AVX-512, and its last look
// finds it in L1 (32 KiB)... The backward's x and dy columns together fill L1, yet most of them stay: C = 784,
// N = 256 measured 48-50 -> 40 us.
inline constexpr std::size_t kColumnRows = 256;
// ...if its lines spread over all of L1's sets: a row stride of an odd number of cache lines does that; an even one
// folds the column into a fraction of the sets (C = 256: a 1 KiB stride uses 4 of 64), where it does not stay.
template <std::size_t C>
inline constexpr bool kColumnsSpreadOverL1 =
    C * sizeof(float) % cache_line_bytes == 0 && C * sizeof(float) / cache_line_bytes % 2 == 1;
// The inference pass steps as the others do (StepRows) except where a row is a whole number of KiB (C = 256, 512,
// ...): there it goes row by row, batches of one block too. Measured 1.6-1.8x faster at C = 256, N = 65536
// (11.1-13.1 -> 6.5-7.6 ms, where 8-row and 4-row steps ran at 0.46 of memcpy's rate) and slower at C = 784
// (20-21 -> 26-29 ms), whose 8 streams of rows 3136 bytes apart the prefetchers serve better than one.
template <std::size_t C>
inline constexpr bool kInferRowByRow = C * sizeof(float) % 1024 == 0;
// Features whose double accumulators are on the stack at once (28 bytes each in the forward pass).
inline constexpr std::size_t kPanelFeatures = 1024;

using DF = hn::ScalableTag<float>;
using DD = hn::ScalableTag<double>;
using DFToDouble = hn::Rebind<float, DD>;  // the floats that widen into one vector of doubles

inline constexpr std::size_t kMaxFloatLanes = hn::MaxLanes(DF());

template <std::size_t C>
inline constexpr std::size_t kPanelWidth = C < kPanelFeatures ? C : kPanelFeatures;
// Stack arrays hold whole vectors, so that per-feature loops need no tail handling.
constexpr std::size_t RoundUpToVectors(std::size_t features) {
    return (features + kMaxFloatLanes - 1) / kMaxFloatLanes * kMaxFloatLanes;
}
template <std::size_t C>
inline constexpr std::size_t kPanelPadded = RoundUpToVectors(kPanelWidth<C>);

// The first `count` lanes from p, zeros above; never touches memory beyond p + count.
template <class D>
HWY_INLINE hn::Vec<D> LoadFirst(D d, const float* HWY_RESTRICT p, std::size_t count) {
#if HWY_MEM_OPS_MIGHT_FAULT
    HWY_ALIGN float lanes[hn::MaxLanes(D())] = {};
    std::memcpy(lanes, p, count * sizeof(float));
    return hn::Load(d, lanes);
#else
    return hn::MaskedLoad(hn::FirstN(d, count), d, p);
#endif
}

// Stores the first `count` lanes of v to p; never touches memory beyond p + count.
template <class D>
HWY_INLINE void StoreFirst(D d, hn::Vec<D> v, float* HWY_RESTRICT p, std::size_t count) {
#if HWY_MEM_OPS_MIGHT_FAULT
    HWY_ALIGN float lanes[hn::MaxLanes(D())];
    hn::Store(v, d, lanes);
    std::memcpy(p, lanes, count * sizeof(float));
#else
    hn::BlendedStore(v, hn::FirstN(d, count), d, p);
#endif
}

// A column is a whole vector unless kPartial, when only its first `count` features exist.
template <bool kPartial, class D>
HWY_INLINE hn::Vec<D> LoadColumn(D d, const float* HWY_RESTRICT p, std::size_t count) {
    if constexpr (kPartial) {
        return LoadFirst(d, p, count);
    } else {
        (void)count;
        return hn::LoadU(d, p);
    }
}

template <bool kPartial, class D>
HWY_INLINE void StoreColumn(D d, hn::Vec<D> v, float* HWY_RESTRICT p, std::size_t count) {
    if constexpr (kPartial) {
        StoreFirst(d, v, p, count);
    } else {
        (void)count;
        hn::StoreU(v, d, p);
    }
}

// An output column (y, dx): with kStream a non-temporal store to an aligned whole vector (StreamsOutput, which
// never streams a layer with a partial column; such a column is instantiated in a streaming pass all the same).
template <bool kPartial, bool kStream, class D>
HWY_INLINE void StoreOutputColumn(D d, hn::Vec<D> v, float* HWY_RESTRICT p, std::size_t count) {
    if constexpr (kStream && !kPartial) {
        hn::Stream(v, d, p);
    } else {
        StoreColumn<kPartial>(d, v, p, count);
    }
}

template <class DW>
HWY_INLINE hn::Vec<DW> LoadWidened(DW dw, const float* HWY_RESTRICT p) {
    return hn::PromoteTo(dw, hn::Load(hn::Rebind<float, DW>(), p));
}

// Stores v as floats at p (an output array of the caller), the first `count` lanes if kPartial.
template <bool kPartial, class DW>
HWY_INLINE void StoreNarrowed(DW, hn::Vec<DW> v, float* HWY_RESTRICT p, std::size_t count) {
    const hn::Rebind<float, DW> df;
    StoreColumn<kPartial>(df, hn::DemoteTo(df, v), p, count);
}

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

template <bool kPartial, activation_kind Act, class D>
HWY_INLINE hn::Vec<D> LoadPreActivationGradient(D d, const float* HWY_RESTRICT dy, const float* HWY_RESTRICT y,
                                                std::size_t count) {
    const hn::Vec<D> dy_v = LoadColumn<kPartial>(d, dy, count);
    if constexpr (Act == activation_kind::linear) {
        (void)y;
        return dy_v;
    } else {
        return PreActivationGradient<Act>(d, dy_v, LoadColumn<kPartial>(d, y, count));
    }
}

// ---------------------------------------------------------------- training forward: statistics

// sum(x) of one column over `rows` rows; four accumulators hide the add latency.
template <bool kPartial, class V = hn::Vec<DF>>
HWY_INLINE V ColumnSum(const float* x, std::size_t stride, std::size_t rows, std::size_t count) {
    const DF d;
    V s0 = hn::Zero(d), s1 = s0, s2 = s0, s3 = s0;
    std::size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const float* row = x + r * stride;
        s0 = hn::Add(s0, LoadColumn<kPartial>(d, row, count));
        s1 = hn::Add(s1, LoadColumn<kPartial>(d, row + stride, count));
        s2 = hn::Add(s2, LoadColumn<kPartial>(d, row + 2 * stride, count));
        s3 = hn::Add(s3, LoadColumn<kPartial>(d, row + 3 * stride, count));
    }
    for (; r < rows; ++r) s0 = hn::Add(s0, LoadColumn<kPartial>(d, x + r * stride, count));
    return hn::Add(hn::Add(s0, s1), hn::Add(s2, s3));
}

// sum(x - center) and sum((x - center)^2) of one column over `rows` rows, added to sum_dev, sum_sq_dev.
template <bool kPartial, class V = hn::Vec<DF>>
HWY_INLINE void AddColumnDeviations(const float* x, std::size_t stride, std::size_t rows, std::size_t count, V center,
                                    V& sum_dev, V& sum_sq_dev) {
    const DF d;
    V e0 = hn::Zero(d), e1 = e0, e2 = e0, e3 = e0, q0 = e0, q1 = e0, q2 = e0, q3 = e0;
    std::size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const float* row = x + r * stride;
        const V dev0 = hn::Sub(LoadColumn<kPartial>(d, row, count), center);
        const V dev1 = hn::Sub(LoadColumn<kPartial>(d, row + stride, count), center);
        const V dev2 = hn::Sub(LoadColumn<kPartial>(d, row + 2 * stride, count), center);
        const V dev3 = hn::Sub(LoadColumn<kPartial>(d, row + 3 * stride, count), center);
        e0 = hn::Add(e0, dev0);
        e1 = hn::Add(e1, dev1);
        e2 = hn::Add(e2, dev2);
        e3 = hn::Add(e3, dev3);
        q0 = hn::MulAdd(dev0, dev0, q0);
        q1 = hn::MulAdd(dev1, dev1, q1);
        q2 = hn::MulAdd(dev2, dev2, q2);
        q3 = hn::MulAdd(dev3, dev3, q3);
    }
    for (; r < rows; ++r) {
        const V dev = hn::Sub(LoadColumn<kPartial>(d, x + r * stride, count), center);
        e0 = hn::Add(e0, dev);
        q0 = hn::MulAdd(dev, dev, q0);
    }
    sum_dev = hn::Add(sum_dev, hn::Add(hn::Add(e0, e1), hn::Add(e2, e3)));
    sum_sq_dev = hn::Add(sum_sq_dev, hn::Add(hn::Add(q0, q1), hn::Add(q2, q3)));
}

// One column over the rows of one block: center = the block's float mean; sum_dev = sum(x - center)
// (what center lost to rounding) and sum_sq_dev = sum((x - center)^2), read while the column is in L1.
template <bool kPartial, class V = hn::Vec<DF>>
HWY_INLINE void ColumnBlockMoments(const float* x, std::size_t stride, std::size_t block_rows, std::size_t count,
                                   V& center, V& sum_dev, V& sum_sq_dev) {
    const DF d;
    center = hn::Div(ColumnSum<kPartial>(x, stride, block_rows, count), hn::Set(d, static_cast<float>(block_rows)));
    sum_dev = sum_sq_dev = hn::Zero(d);
    AddColumnDeviations<kPartial>(x, stride, block_rows, count, center, sum_dev, sum_sq_dev);
}

// When the whole batch is one block: mean, biased variance and 1/sqrt(var + epsilon) of a column
// straight from its float sums (the corrected two-pass formulas), stored to the caller's arrays.
template <bool kPartial, class V = hn::Vec<DF>>
HWY_INLINE void FinishColumnMoments(V center, V sum_dev, V sum_sq_dev, std::size_t rows, float epsilon,
                                    std::size_t count, float* HWY_RESTRICT batch_mean, float* HWY_RESTRICT batch_var,
                                    float* HWY_RESTRICT inv_std) {
    const DF d;
    const V inv_rows = hn::Set(d, 1.0f / static_cast<float>(rows));
    const V mean_dev = hn::Mul(sum_dev, inv_rows);  // mean - center
    const V var = hn::Mul(hn::ZeroIfNegative(hn::NegMulAdd(mean_dev, sum_dev, sum_sq_dev)), inv_rows);
    StoreColumn<kPartial>(d, hn::Add(center, mean_dev), batch_mean, count);
    StoreColumn<kPartial>(d, var, batch_var, count);
    StoreColumn<kPartial>(d, hn::Div(hn::Set(d, 1.0f), hn::Sqrt(hn::Add(var, hn::Set(d, epsilon)))), inv_std, count);
}

// Stores a block's column sums for the double merge.
template <class V = hn::Vec<DF>>
HWY_INLINE void StoreColumnMoments(V center, V sum_dev, V sum_sq_dev, float* HWY_RESTRICT center_out,
                                   float* HWY_RESTRICT sum_dev_out, float* HWY_RESTRICT sum_sq_dev_out) {
    const DF d;
    hn::Store(center, d, center_out);
    hn::Store(sum_dev, d, sum_dev_out);
    hn::Store(sum_sq_dev, d, sum_sq_dev_out);
}

// Running (mean, M2) of the rows seen so far, per feature, in double; a block's float partials are
// merged in with Chan, Golub & LeVeque's pairwise update, which with no rows before is a copy.
template <std::size_t kPadded>
struct RunningMoments {
    HWY_ALIGN float center[kPadded];
    HWY_ALIGN float sum_dev[kPadded];
    HWY_ALIGN float sum_sq_dev[kPadded];
    HWY_ALIGN double mean[kPadded] = {};
    HWY_ALIGN double m2[kPadded] = {};

    // Merges features [0, end) of a block; rows_before: rows already merged.
    HWY_INLINE void MergeBlock(std::size_t end, std::size_t rows_before, std::size_t block_rows) {
        MergeBlockFrom(center, sum_dev, sum_sq_dev, end, rows_before, block_rows);
    }

    // The same for the features [begin, begin + one float vector) only.
    HWY_INLINE void MergeColumn(std::size_t begin, std::size_t rows_before, std::size_t block_rows) {
        MergeBlockFrom(center, sum_dev, sum_sq_dev, begin + hn::Lanes(DF()), rows_before, block_rows, begin);
    }

    // The same for a block whose sums are elsewhere (vector-aligned arrays, e.g. a chunk's, bn_chunked-inl.h), and
    // the features [begin, end).
    HWY_INLINE void MergeBlockFrom(const float* HWY_RESTRICT block_center, const float* HWY_RESTRICT block_sum_dev,
                                   const float* HWY_RESTRICT block_sum_sq_dev, std::size_t end, std::size_t rows_before,
                                   std::size_t block_rows, std::size_t begin = 0) {
        const DD dd;
        using VD = hn::Vec<DD>;
        const double n_a = static_cast<double>(rows_before);
        const double n_b = static_cast<double>(block_rows);
        const VD inv_n_b = hn::Set(dd, 1.0 / n_b);
        const VD weight_b = hn::Set(dd, n_b / (n_a + n_b));
        const VD cross_weight = hn::Set(dd, n_a * n_b / (n_a + n_b));
        for (std::size_t j = begin; j < end; j += hn::Lanes(dd)) {
            const VD sum_dev_b = LoadWidened(dd, block_sum_dev + j);
            const VD mean_dev_b = hn::Mul(sum_dev_b, inv_n_b);  // block mean - center
            const VD mean_b = hn::Add(LoadWidened(dd, block_center + j), mean_dev_b);
            // sum((x-center)^2) - n*(mean-center)^2 >= 0 in exact arithmetic; rounding may not know it.
            const VD m2_b =
                hn::ZeroIfNegative(hn::NegMulAdd(mean_dev_b, sum_dev_b, LoadWidened(dd, block_sum_sq_dev + j)));
            const VD mean_a = hn::Load(dd, mean + j);
            const VD delta = hn::Sub(mean_b, mean_a);
            hn::Store(hn::MulAdd(delta, weight_b, mean_a), dd, mean + j);
            hn::Store(hn::Add(hn::Load(dd, m2 + j), hn::MulAdd(hn::Mul(delta, delta), cross_weight, m2_b)), dd, m2 + j);
        }
    }
};

// Writes mean, biased variance and 1/sqrt(var + epsilon) of features [j, j + count) of the panel.
// The square root and division are float's (correctly rounded each; double's cost several times more).
template <bool kPartial, std::size_t kPadded>
HWY_INLINE void FinishMoments(const RunningMoments<kPadded>& moments, std::size_t j, std::size_t count, double inv_rows,
                              float epsilon, float* HWY_RESTRICT batch_mean, float* HWY_RESTRICT batch_var,
                              float* HWY_RESTRICT inv_std) {
    const DD dd;
    const DFToDouble df;
    const hn::Vec<DFToDouble> var = hn::DemoteTo(df, hn::Mul(hn::Load(dd, moments.m2 + j), hn::Set(dd, inv_rows)));
    const hn::Vec<DFToDouble> inv = hn::Div(hn::Set(df, 1.0f), hn::Sqrt(hn::Add(var, hn::Set(df, epsilon))));
    StoreNarrowed<kPartial>(dd, hn::Load(dd, moments.mean + j), batch_mean, count);
    StoreColumn<kPartial>(df, var, batch_var, count);
    StoreColumn<kPartial>(df, inv, inv_std, count);
}

// ---------------------------------------------------------------- training forward: normalize

template <bool kPartial, activation_kind Act, bool Scale, bool Center, bool kStream = false>
HWY_INLINE void NormalizeColumnBlock(const float* x, float* y, std::size_t stride, std::size_t block_rows,
                                     std::size_t count, const float* HWY_RESTRICT mean,
                                     const float* HWY_RESTRICT inv_std, const float* HWY_RESTRICT gamma,
                                     const float* HWY_RESTRICT beta) {
    const DF d;
    using V = hn::Vec<DF>;
    const V mean_v = LoadColumn<kPartial>(d, mean, count);
    V scale = LoadColumn<kPartial>(d, inv_std, count);
    if constexpr (Scale) scale = hn::Mul(scale, LoadColumn<kPartial>(d, gamma, count));
    V shift = hn::Zero(d);
    if constexpr (Center) shift = LoadColumn<kPartial>(d, beta, count);
    for (std::size_t r = 0; r < block_rows; ++r) {
        const V centered = hn::Sub(LoadColumn<kPartial>(d, x + r * stride, count), mean_v);
        V z;
        if constexpr (Center) {
            z = hn::MulAdd(centered, scale, shift);
        } else {
            (void)shift;
            z = hn::Mul(centered, scale);
        }
        StoreOutputColumn<kPartial, kStream>(d, Activate<Act>(d, z), y + r * stride, count);
    }
}

// ---------------------------------------------------------------- backward

// One column over the rows of one block: sum(dz) and sum(dz * (x - mean)), four accumulators each.
template <bool kPartial, activation_kind Act, class V = hn::Vec<DF>>
HWY_INLINE void ColumnBlockGradientSums(const float* x, const float* y, const float* dy, std::size_t stride,
                                        std::size_t block_rows, std::size_t count, const float* HWY_RESTRICT mean,
                                        V& sum_dz_out, V& sum_dz_dev_out) {
    const DF d;
    const V mean_v = LoadColumn<kPartial>(d, mean, count);
    V a0 = hn::Zero(d), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    std::size_t r = 0;
    for (; r + 4 <= block_rows; r += 4) {
        const std::size_t at0 = r * stride, at1 = at0 + stride, at2 = at1 + stride, at3 = at2 + stride;
        const V dz0 = LoadPreActivationGradient<kPartial, Act>(d, dy + at0, y + at0, count);
        const V dz1 = LoadPreActivationGradient<kPartial, Act>(d, dy + at1, y + at1, count);
        const V dz2 = LoadPreActivationGradient<kPartial, Act>(d, dy + at2, y + at2, count);
        const V dz3 = LoadPreActivationGradient<kPartial, Act>(d, dy + at3, y + at3, count);
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
        const V dz = LoadPreActivationGradient<kPartial, Act>(d, dy + at, y + at, count);
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

template <bool kPartial, activation_kind Act, bool Scale, bool kStream = false>
HWY_INLINE void InputGradientColumnBlock(const float* x, const float* y, const float* dy, float* dx, std::size_t stride,
                                         std::size_t block_rows, std::size_t count, const float* HWY_RESTRICT mean,
                                         const float* HWY_RESTRICT inv_std, const float* HWY_RESTRICT gamma,
                                         const float* HWY_RESTRICT dev_coef, const float* HWY_RESTRICT const_coef) {
    const DF d;
    using V = hn::Vec<DF>;
    const V mean_v = LoadColumn<kPartial>(d, mean, count);
    V dz_coef = LoadColumn<kPartial>(d, inv_std, count);
    if constexpr (Scale) dz_coef = hn::Mul(dz_coef, LoadColumn<kPartial>(d, gamma, count));
    const V dev_coef_v = LoadColumn<kPartial>(d, dev_coef, count);
    const V const_coef_v = LoadColumn<kPartial>(d, const_coef, count);
    for (std::size_t r = 0; r < block_rows; ++r) {
        const std::size_t at = r * stride;
        const V dz = LoadPreActivationGradient<kPartial, Act>(d, dy + at, y + at, count);
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

// ---------------------------------------------------------------- one panel of features

inline std::size_t StepRows(std::size_t rows) { return rows <= kBlockRows ? rows : kStreamRows; }

// Whether the output pass writes its rows x C output floats at `out` with non-temporal stores: a batch of several
// blocks whose output is bn_streaming_output_bytes or more (streaming_output.hpp), and only where every vector of
// every row is aligned (C a whole number of vectors, `out` vector-aligned), which also means no partial column.
template <std::size_t C>
HWY_INLINE bool StreamsOutput(const float* out, std::size_t rows) {
    const std::size_t vector_bytes = hn::Lanes(DF()) * sizeof(float);
    return rows > kBlockRows && rows * C * sizeof(float) >= bn_streaming_output_bytes &&
           C * sizeof(float) % vector_bytes == 0 && reinterpret_cast<std::uintptr_t>(out) % vector_bytes == 0;
}

// pass(std::true_type()) when `stream`, then a store fence: non-temporal stores are not ordered with later ones, so
// without it a thread told "done" afterwards could read old values. Otherwise pass(std::false_type()).
template <class Pass>
HWY_INLINE void WithStreaming(bool stream, const Pass& pass) {
    if (stream) {
        pass(std::true_type());
        hwy::FlushStream();
    } else {
        pass(std::false_type());
    }
}

// The output pass (y, dx) of a panel over several blocks: steps of StepRows rows, last step first (the rows the
// first pass read last are still in cache), each step's columns in order, streaming where StreamsOutput says so.
// column(stream, partial, j, at, step_rows, count) makes the panel's column j of the step whose first element is
// at offset `at` of the [rows, C] arrays.
template <std::size_t C, std::size_t kFirst, std::size_t kWidth, class Column>
HWY_INLINE void OutputPassLastStepFirst(std::size_t rows, const float* out, const Column& column) {
    const std::size_t step_rows = StepRows(rows);
    WithStreaming(StreamsOutput<C>(out, rows), [&](auto stream) HWY_ATTR {
        for (std::size_t step = (rows + step_rows - 1) / step_rows; step-- > 0;) {
            const std::size_t r0 = step * step_rows;
            const std::size_t block_rows = std::min(step_rows, rows - r0);
            ForEachVector(DF(), kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
                column(stream, partial, j, r0 * C + kFirst + j, block_rows, count);
            });
        }
    });
}

// p + offset, or nullptr for an absent array (gamma without Scale, dx when not wanted, ...).
template <class T>
HWY_INLINE T* At(T* p, std::size_t offset) {
    return p == nullptr ? nullptr : p + offset;
}

// Calls op(partial, first, count) for the vectors of d covering [0, width): whole ones with
// partial = std::false_type, then the remainder, if any, with std::true_type.
template <class D, class Op>
HWY_INLINE void ForEachVector(D d, std::size_t width, const Op& op) {
    const std::size_t lanes = hn::Lanes(d);
    const std::size_t full = width - width % lanes;
    for (std::size_t j = 0; j < full; j += lanes) op(std::false_type(), j, lanes);
    if (full < width) op(std::true_type(), full, width - full);
}

// Features [kFirst, kFirst + kWidth) of a C-feature layer; compile-time bounds let the compiler drop
// the partial column where there is none and see that every stack access is in bounds.
template <std::size_t C, std::size_t kFirst>
struct FeaturePanel {
    static constexpr std::size_t kWidth = C - kFirst < kPanelFeatures ? C - kFirst : kPanelFeatures;
    static constexpr std::size_t kPadded = kPanelPadded<C>;
};

// Statistics of a panel over several blocks: float block sums merged in double, finished per feature.
template <std::size_t C, std::size_t kFirst>
HWY_NOINLINE void PanelMomentsOverBlocks(const float* x, std::size_t rows, float epsilon, float* batch_mean,
                                         float* batch_var, float* inv_std) {
    using Panel = FeaturePanel<C, kFirst>;
    const DF d;
    // Merge whole vectors: the lanes of a partial column past the layer's width hold zeros.
    const std::size_t columns_end = (Panel::kWidth + hn::Lanes(d) - 1) / hn::Lanes(d) * hn::Lanes(d);
    RunningMoments<Panel::kPadded> moments;
    for (std::size_t r0 = 0; r0 < rows; r0 += kBlockRows) {
        const std::size_t block_rows = std::min(kBlockRows, rows - r0);
        ForEachVector(d, Panel::kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
            hn::Vec<DF> center, sum_dev, sum_sq_dev;
            ColumnBlockMoments<decltype(partial)::value>(x + r0 * C + kFirst + j, C, block_rows, count, center, sum_dev,
                                                         sum_sq_dev);
            StoreColumnMoments(center, sum_dev, sum_sq_dev, moments.center + j, moments.sum_dev + j,
                               moments.sum_sq_dev + j);
        });
        moments.MergeBlock(columns_end, r0, block_rows);
    }
    const double inv_rows = 1.0 / static_cast<double>(rows);
    ForEachVector(DD(), Panel::kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
        FinishMoments<decltype(partial)::value>(moments, j, count, inv_rows, epsilon, batch_mean + kFirst + j,
                                                batch_var + kFirst + j, inv_std + kFirst + j);
    });
}

template <std::size_t C, std::size_t kFirst, activation_kind Act, bool Scale, bool Center>
HWY_INLINE void ForwardTrainPanel(const float* x, std::size_t rows, float epsilon, const float* gamma,
                                  const float* beta, float* batch_mean, float* batch_var, float* inv_std, float* y) {
    constexpr std::size_t kWidth = FeaturePanel<C, kFirst>::kWidth;
    const DF d;

    // One block: float all the way, and each column normalized right after its statistics, while it is in L1.
    if (rows <= kBlockRows) {
        ForEachVector(d, kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
            constexpr bool kPartial = decltype(partial)::value;
            const std::size_t f = kFirst + j;
            hn::Vec<DF> center, sum_dev, sum_sq_dev;
            ColumnBlockMoments<kPartial>(x + f, C, rows, count, center, sum_dev, sum_sq_dev);
            FinishColumnMoments<kPartial>(center, sum_dev, sum_sq_dev, rows, epsilon, count, batch_mean + f,
                                          batch_var + f, inv_std + f);
            NormalizeColumnBlock<kPartial, Act, Scale, Center>(x + f, y + f, C, rows, count, batch_mean + f,
                                                               inv_std + f, At(gamma, f), At(beta, f));
        });
        return;
    }
    // A few blocks whose columns stay in L1: the same, each column's blocks merged in double as the panel's are.
    if (rows <= kColumnRows && kColumnsSpreadOverL1<C>) {
        RunningMoments<FeaturePanel<C, kFirst>::kPadded> moments;
        const double inv_rows = 1.0 / static_cast<double>(rows);
        ForEachVector(d, kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
            constexpr bool kPartial = decltype(partial)::value;
            const std::size_t f = kFirst + j;
            for (std::size_t r0 = 0; r0 < rows; r0 += kBlockRows) {
                const std::size_t block_rows = std::min(kBlockRows, rows - r0);
                hn::Vec<DF> center, sum_dev, sum_sq_dev;
                ColumnBlockMoments<kPartial>(x + r0 * C + f, C, block_rows, count, center, sum_dev, sum_sq_dev);
                StoreColumnMoments(center, sum_dev, sum_sq_dev, moments.center + j, moments.sum_dev + j,
                                   moments.sum_sq_dev + j);
                moments.MergeColumn(j, r0, block_rows);
            }
            ForEachVector(DD(), count, [&](auto partial_doubles, std::size_t k, std::size_t doubles) HWY_ATTR {
                FinishMoments<decltype(partial_doubles)::value>(moments, j + k, doubles, inv_rows, epsilon,
                                                                batch_mean + f + k, batch_var + f + k, inv_std + f + k);
            });
            NormalizeColumnBlock<kPartial, Act, Scale, Center>(x + f, y + f, C, rows, count, batch_mean + f,
                                                               inv_std + f, At(gamma, f), At(beta, f));
        });
        return;
    }

    // Statistics pass.
    PanelMomentsOverBlocks<C, kFirst>(x, rows, epsilon, batch_mean, batch_var, inv_std);

    // Normalize pass.
    OutputPassLastStepFirst<C, kFirst, kWidth>(
        rows, y,
        [&](auto stream, auto partial, std::size_t j, std::size_t at, std::size_t step_rows, std::size_t count)
            HWY_ATTR {
                const std::size_t f = kFirst + j;
                NormalizeColumnBlock<decltype(partial)::value, Act, Scale, Center, decltype(stream)::value>(
                    x + at, y + at, C, step_rows, count, batch_mean + f, inv_std + f, At(gamma, f), At(beta, f));
            });
}

// Parameter gradients and dx coefficients of a panel over several blocks: float block sums merged in
// double, finished per feature.
template <std::size_t C, std::size_t kFirst, activation_kind Act, bool Scale, bool Center>
HWY_NOINLINE void PanelGradientsOverBlocks(const float* x, const float* y, const float* dy, std::size_t rows,
                                           const float* gamma, const float* batch_mean, const float* inv_std,
                                           float* dgamma, float* dbeta, float* dev_coef, float* const_coef) {
    using Panel = FeaturePanel<C, kFirst>;
    const DF d;
    const std::size_t columns_end = (Panel::kWidth + hn::Lanes(d) - 1) / hn::Lanes(d) * hn::Lanes(d);
    GradientSums<Panel::kPadded> sums;
    for (std::size_t r0 = 0; r0 < rows; r0 += kBlockRows) {
        const std::size_t block_end = std::min(r0 + kBlockRows, rows);
        for (std::size_t j = 0; j < columns_end; j += hn::Lanes(d)) {
            hn::Store(hn::Zero(d), d, sums.block_dz + j);
            hn::Store(hn::Zero(d), d, sums.block_dz_dev + j);
        }
        for (std::size_t s0 = r0; s0 < block_end; s0 += kStreamRows) {
            const std::size_t step_rows = std::min(kStreamRows, block_end - s0);
            ForEachVector(d, Panel::kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
                const std::size_t at = s0 * C + kFirst + j;
                hn::Vec<DF> sum_dz, sum_dz_dev;
                ColumnBlockGradientSums<decltype(partial)::value, Act>(x + at, At(y, at), dy + at, C, step_rows, count,
                                                                       batch_mean + kFirst + j, sum_dz, sum_dz_dev);
                hn::Store(hn::Add(hn::Load(d, sums.block_dz + j), sum_dz), d, sums.block_dz + j);
                hn::Store(hn::Add(hn::Load(d, sums.block_dz_dev + j), sum_dz_dev), d, sums.block_dz_dev + j);
            });
        }
        sums.MergeBlock(columns_end);
    }
    ForEachVector(DD(), Panel::kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
        const std::size_t f = kFirst + j;
        FinishGradients<decltype(partial)::value, Scale, Center>(sums, j, count, static_cast<double>(rows),
                                                                 At(gamma, f), inv_std + f, At(dgamma, f), At(dbeta, f),
                                                                 At(dev_coef, j), At(const_coef, j));
    });
}

template <std::size_t C, std::size_t kFirst, activation_kind Act, bool Scale, bool Center>
HWY_INLINE void BackwardPanel(const float* x, const float* y, const float* dy, std::size_t rows, const float* gamma,
                              const float* batch_mean, const float* inv_std, float* dgamma, float* dbeta, float* dx,
                              float* scratch) {
    constexpr std::size_t kWidth = FeaturePanel<C, kFirst>::kWidth;
    const DF d;
    if constexpr (Act == activation_kind::linear) y = nullptr;  // Act'(y) = 1: y is not read
    // The dx coefficients go to scratch: dev_coef[C], then const_coef[C].
    float* dev_coef = dx == nullptr ? nullptr : scratch + kFirst;
    float* const_coef = dx == nullptr ? nullptr : scratch + C + kFirst;

    // One block: float all the way, and each column's dx right after its sums, while x and dy are in L1.
    if (rows <= kBlockRows) {
        ForEachVector(d, kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
            constexpr bool kPartial = decltype(partial)::value;
            const std::size_t f = kFirst + j;
            hn::Vec<DF> sum_dz, sum_dz_dev;
            ColumnBlockGradientSums<kPartial, Act>(x + f, At(y, f), dy + f, C, rows, count, batch_mean + f, sum_dz,
                                                   sum_dz_dev);
            FinishColumnGradients<kPartial, Scale, Center>(sum_dz, sum_dz_dev, rows, count, At(gamma, f),
                                                           inv_std + f, At(dgamma, f), At(dbeta, f), At(dev_coef, j),
                                                           At(const_coef, j));
            if (dx == nullptr) return;
            InputGradientColumnBlock<kPartial, Act, Scale>(x + f, At(y, f), dy + f, dx + f, C, rows, count,
                                                           batch_mean + f, inv_std + f, At(gamma, f), dev_coef + j,
                                                           const_coef + j);
        });
        return;
    }

    // A few blocks whose columns stay in L1: the same, each column's block sums added in double as the panel's
    // are, and its dx made last block first (the rows its sums read last).
    if (rows <= kColumnRows && kColumnsSpreadOverL1<C>) {
        GradientSums<FeaturePanel<C, kFirst>::kPadded> sums;
        ForEachVector(d, kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
            constexpr bool kPartial = decltype(partial)::value;
            const std::size_t f = kFirst + j;
            for (std::size_t r0 = 0; r0 < rows; r0 += kBlockRows) {
                const std::size_t block_rows = std::min(kBlockRows, rows - r0);
                const std::size_t at = r0 * C + f;
                hn::Vec<DF> sum_dz, sum_dz_dev;
                ColumnBlockGradientSums<kPartial, Act>(x + at, At(y, at), dy + at, C, block_rows, count,
                                                       batch_mean + f, sum_dz, sum_dz_dev);
                hn::Store(sum_dz, d, sums.block_dz + j);
                hn::Store(sum_dz_dev, d, sums.block_dz_dev + j);
                sums.MergeBlock(j + hn::Lanes(d), j);
            }
            ForEachVector(DD(), count, [&](auto partial_doubles, std::size_t k, std::size_t doubles) HWY_ATTR {
                FinishGradients<decltype(partial_doubles)::value, Scale, Center>(
                    sums, j + k, doubles, static_cast<double>(rows), At(gamma, f + k), inv_std + f + k,
                    At(dgamma, f + k), At(dbeta, f + k), At(dev_coef, j + k), At(const_coef, j + k));
            });
            if (dx == nullptr) return;
            for (std::size_t block = (rows + kBlockRows - 1) / kBlockRows; block-- > 0;) {
                const std::size_t r0 = block * kBlockRows;
                const std::size_t at = r0 * C + f;
                InputGradientColumnBlock<kPartial, Act, Scale>(x + at, At(y, at), dy + at, dx + at, C,
                                                               std::min(kBlockRows, rows - r0), count, batch_mean + f,
                                                               inv_std + f, At(gamma, f), dev_coef + j,
                                                               const_coef + j);
            }
        });
        return;
    }

    // Reductions pass.
    PanelGradientsOverBlocks<C, kFirst, Act, Scale, Center>(x, y, dy, rows, gamma, batch_mean, inv_std, dgamma, dbeta,
                                                            dev_coef, const_coef);
    if (dx == nullptr) return;

    // dx pass.
    OutputPassLastStepFirst<C, kFirst, kWidth>(
        rows, dx,
        [&](auto stream, auto partial, std::size_t j, std::size_t at, std::size_t step_rows, std::size_t count)
            HWY_ATTR {
                const std::size_t f = kFirst + j;
                InputGradientColumnBlock<decltype(partial)::value, Act, Scale, decltype(stream)::value>(
                    x + at, At(y, at), dy + at, dx + at, C, step_rows, count, batch_mean + f, inv_std + f, At(gamma, f),
                    dev_coef + j, const_coef + j);
            });
}

inline constexpr std::size_t PanelCount(std::size_t features) {
    return (features + kPanelFeatures - 1) / kPanelFeatures;
}

template <std::size_t C, activation_kind Act, bool Scale, bool Center, std::size_t... kPanel>
HWY_INLINE void ForwardTrainPanels(std::index_sequence<kPanel...>, const float* x, std::size_t rows, float epsilon,
                                   const float* gamma, const float* beta, float* batch_mean, float* batch_var,
                                   float* inv_std, float* y) {
    (ForwardTrainPanel<C, kPanel * kPanelFeatures, Act, Scale, Center>(x, rows, epsilon, gamma, beta, batch_mean,
                                                                       batch_var, inv_std, y),
     ...);
}

template <std::size_t C, activation_kind Act, bool Scale, bool Center, std::size_t... kPanel>
HWY_INLINE void BackwardPanels(std::index_sequence<kPanel...>, const float* x, const float* y, const float* dy,
                               std::size_t rows, const float* gamma, const float* batch_mean, const float* inv_std,
                               float* dgamma, float* dbeta, float* dx, float* scratch) {
    (BackwardPanel<C, kPanel * kPanelFeatures, Act, Scale, Center>(x, y, dy, rows, gamma, batch_mean, inv_std, dgamma,
                                                                   dbeta, dx, scratch),
     ...);
}

// Inference over a panel: s and t once per call, then the rows.
template <std::size_t C, std::size_t kFirst, activation_kind Act, bool Scale, bool Center>
HWY_INLINE void InferPanel(const float* x, std::size_t rows, float epsilon, const float* gamma, const float* beta,
                           const float* moving_mean, const float* moving_var, float* y) {
    using Panel = FeaturePanel<C, kFirst>;
    const DF d;
    HWY_ALIGN float s[Panel::kPadded];
    HWY_ALIGN float t[Panel::kPadded];
    ForEachVector(d, Panel::kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
        const std::size_t f = kFirst + j;
        InferenceAffine<decltype(partial)::value, Scale, Center>(count, epsilon, At(gamma, f), At(beta, f),
                                                                 moving_mean + f, moving_var + f, s + j, t + j);
    });
    const std::size_t step_rows = kInferRowByRow<C> ? 1 : StepRows(rows);
    WithStreaming(StreamsOutput<C>(y, rows), [&](auto stream) HWY_ATTR {
        for (std::size_t r0 = 0; r0 < rows; r0 += step_rows) {
            const std::size_t block_rows = std::min(step_rows, rows - r0);
            ForEachVector(d, Panel::kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
                const std::size_t at = r0 * C + kFirst + j;
                InferColumnBlock<decltype(partial)::value, Act, decltype(stream)::value>(x + at, y + at, C, block_rows,
                                                                                         count, s + j, t + j);
            });
        }
    });
}

template <std::size_t C, activation_kind Act, bool Scale, bool Center, std::size_t... kPanel>
HWY_INLINE void InferPanels(std::index_sequence<kPanel...>, const float* x, std::size_t rows, float epsilon,
                            const float* gamma, const float* beta, const float* moving_mean, const float* moving_var,
                            float* y) {
    (InferPanel<C, kPanel * kPanelFeatures, Act, Scale, Center>(x, rows, epsilon, gamma, beta, moving_mean, moving_var,
                                                                y),
     ...);
}

}  // namespace bn_detail

// ---------------------------------------------------------------- the building blocks

template <std::size_t C, activation_kind Act, bool Scale, bool Center>
void BnForwardTrain(const float* x, std::size_t rows, float epsilon, const float* gamma, const float* beta,
                    float* batch_mean, float* batch_var, float* inv_std, float* y) {
    static_assert(C > 0, "batch normalization needs at least one feature");
    static_assert(Act != activation_kind::softmax, "softmax is not element-wise: fuse it with the loss");
    bn_detail::ForwardTrainPanels<C, Act, Scale, Center>(std::make_index_sequence<bn_detail::PanelCount(C)>(), x, rows,
                                                         epsilon, gamma, beta, batch_mean, batch_var, inv_std, y);
}

template <std::size_t C, activation_kind Act, bool Scale, bool Center>
void BnForwardInfer(const float* x, std::size_t rows, float epsilon, const float* gamma, const float* beta,
                    const float* moving_mean, const float* moving_var, float* y) {
    static_assert(C > 0, "batch normalization needs at least one feature");
    static_assert(Act != activation_kind::softmax, "softmax is not element-wise: fuse it with the loss");
    bn_detail::InferPanels<C, Act, Scale, Center>(std::make_index_sequence<bn_detail::PanelCount(C)>(), x, rows,
                                                  epsilon, gamma, beta, moving_mean, moving_var, y);
}

template <std::size_t C, activation_kind Act, bool Scale, bool Center>
void BnBackward(const float* x, const float* y, const float* dy, std::size_t rows, const float* gamma,
                const float* batch_mean, const float* inv_std, float* dgamma, float* dbeta, float* dx, float* scratch) {
    static_assert(C > 0, "batch normalization needs at least one feature");
    static_assert(Act != activation_kind::softmax, "softmax is not element-wise: fuse it with the loss");
    bn_detail::BackwardPanels<C, Act, Scale, Center>(std::make_index_sequence<bn_detail::PanelCount(C)>(), x, y, dy,
                                                     rows, gamma, batch_mean, inv_std, dgamma, dbeta, dx, scratch);
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_BATCH_NORM_INL_H_
