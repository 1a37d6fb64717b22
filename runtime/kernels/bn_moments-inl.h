// Batch statistics of batch normalization's training forward, per SIMD target (namespace bn_detail).
//
// A block's column (kBlockRows rows) gives float sums in two passes while it is in L1 (the corrected two-pass
// algorithm: center = the block's float mean, then sum(x - center) and sum((x - center)^2)); blocks are merged in
// double with Chan, Golub & LeVeque's pairwise update of (count, mean, M2) (RunningMoments, also used by
// bn_chunked-inl.h to merge chunks; the update itself is chan_merge-inl.h's, shared with the trainer). The variance is
// never E[x^2] - E[x]^2, so the float error is bounded by one block, not by the batch.
//   FinishColumnMoments: a batch of one block, finished in float.
//   FinishMoments: mean and variance finished in double, 1/sqrt(var + epsilon) in float (a correctly rounded sqrt
//   and division each).
//   MergePanelBlocks<C, kFirst>: a panel's block sums over several blocks, merged in double.
//   PanelMomentsOverBlocks<C, kFirst>: the statistics pass of a panel over several blocks.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_BN_MOMENTS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_BN_MOMENTS_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_BN_MOMENTS_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_BN_MOMENTS_INL_H_
#endif

#include <algorithm>
#include <cstddef>

#include "hwy/highway.h"
#include "runtime/kernels/bn_traversal-inl.h"
#include "runtime/kernels/chan_merge-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace bn_detail {

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
        const ChanWeights weights = ChanWeightsFor(n_a, n_b);
        const VD weight_b = hn::Set(dd, weights.of_b);
        const VD cross_weight = hn::Set(dd, weights.cross);
        for (std::size_t j = begin; j < end; j += hn::Lanes(dd)) {
            const VD sum_dev_b = LoadWidened(dd, block_sum_dev + j);
            const VD mean_dev_b = hn::Mul(sum_dev_b, inv_n_b);  // block mean - center
            const VD mean_b = hn::Add(LoadWidened(dd, block_center + j), mean_dev_b);
            // sum((x-center)^2) - n*(mean-center)^2 >= 0 in exact arithmetic; rounding may not know it.
            const VD m2_b =
                hn::ZeroIfNegative(hn::NegMulAdd(mean_dev_b, sum_dev_b, LoadWidened(dd, block_sum_sq_dev + j)));
            VD merged_mean = hn::Load(dd, mean + j);
            VD merged_m2 = hn::Load(dd, m2 + j);
            ChanMerge(merged_mean, merged_m2, mean_b, m2_b, weight_b, cross_weight);
            hn::Store(merged_mean, dd, mean + j);
            hn::Store(merged_m2, dd, m2 + j);
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

// The float block sums of features [kFirst, kFirst + kWidth) over `rows` rows, merged in double into `moments`.
template <std::size_t C, std::size_t kFirst>
HWY_INLINE void MergePanelBlocks(const float* x, std::size_t rows,
                                 RunningMoments<FeaturePanel<C, kFirst>::kPadded>& moments) {
    using Panel = FeaturePanel<C, kFirst>;
    const DF d;
    // Merge whole vectors: the lanes of a partial column past the layer's width hold zeros.
    const std::size_t columns_end = (Panel::kWidth + hn::Lanes(d) - 1) / hn::Lanes(d) * hn::Lanes(d);
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
}

// Statistics of a panel over several blocks: float block sums merged in double, finished per feature.
template <std::size_t C, std::size_t kFirst>
HWY_NOINLINE void PanelMomentsOverBlocks(const float* x, std::size_t rows, float epsilon, float* batch_mean,
                                         float* batch_var, float* inv_std) {
    using Panel = FeaturePanel<C, kFirst>;
    RunningMoments<Panel::kPadded> moments;
    MergePanelBlocks<C, kFirst>(x, rows, moments);
    const double inv_rows = 1.0 / static_cast<double>(rows);
    ForEachVector(DD(), Panel::kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
        FinishMoments<decltype(partial)::value>(moments, j, count, inv_rows, epsilon, batch_mean + kFirst + j,
                                                batch_var + kFirst + j, inv_std + kFirst + j);
    });
}

}  // namespace bn_detail

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_BN_MOMENTS_INL_H_
