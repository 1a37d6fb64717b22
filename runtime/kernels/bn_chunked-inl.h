// Batch normalization's training forward for a batch cut into chunks, per SIMD target (Highway): the statistics of
// each chunk on its own (any thread), one merge in chunk order, then the normalization of each chunk (any thread).
// Which thread runs a chunk changes nothing: the statistics are a function of the chunk partition alone.
//
// BnChunkMoments<C>(x, rows, moments)
//   requires: x [rows, C] (one chunk), rows >= 1; moments holds bn_chunk_moments_floats(C) floats (bn_chunked.hpp),
//             64-byte aligned.
//   ensures:  moments = the chunk's corrected two-pass sums per feature: for rows <= bn_detail::kBlockRows as
//             BnForwardTrain's statistics pass forms them for a block: center (the chunk's float mean),
//             sum(x - center), sum((x - center)^2). A longer chunk (a feature map's H*W values per sample) is cut
//             into blocks merged in double (bn_moments-inl.h), and its (mean, M2) stored in the same three arrays:
//             center = float(mean), sum(x - center) = (mean - center) * rows, and M2 + rows * (mean - center)^2,
//             which BnMergeChunkMoments turns back into (mean, M2) up to one float rounding of M2.
// BnMergeChunkMoments<C>(moments, rows, chunk_rows, epsilon, batch_mean, batch_var, inv_std)
//   requires: moments holds ceil(rows / chunk_rows) chunks' BnChunkMoments, chunk k of rows
//             [k * chunk_rows, min((k + 1) * chunk_rows, rows)), one after the other; rows >= 2.
//   ensures:  batch_mean, batch_var (biased), inv_std as BnForwardTrain's. One chunk is finished in float exactly as
//             BnForwardTrain finishes a batch of one block (the same values); several are merged in double with
//             Chan et al.'s pairwise update, in chunk order (batch_norm-inl.h, "Precision").
// BnNormalizeRows<C>(x, rows, batch_mean, inv_std, xhat)
//   requires: x, xhat [rows, C], not overlapping.
//   ensures:  xhat = (x - batch_mean) * inv_std, BnForwardTrain's normalization without gamma, beta or activation.
// No heap allocation. Include inside HWY_NAMESPACE machinery like any Highway -inl.h.

#if defined(NNFUSE_RUNTIME_KERNELS_BN_CHUNKED_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_BN_CHUNKED_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_BN_CHUNKED_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_BN_CHUNKED_INL_H_
#endif

#include <algorithm>
#include <cstddef>
#include <utility>

#include "hwy/highway.h"
#include "runtime/kernels/batch_norm-inl.h"
#include "runtime/kernels/bn_chunked.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace bn_chunked_detail {

using bn_detail::DF;
static_assert(hn::MaxLanes(DF()) <= bn_moments_padding_floats, "a chunk's moment arrays must hold whole vectors");

// The three arrays of chunk `chunk`'s moments.
template <class Float>
struct ChunkMoments {
    Float* center;
    Float* sum_dev;
    Float* sum_sq_dev;
};

template <std::size_t C, class Float>
HWY_INLINE ChunkMoments<Float> MomentsOf(Float* moments, std::size_t chunk) {
    constexpr std::size_t kStride = bn_moments_stride(C);
    Float* first = moments + chunk * bn_chunk_moments_floats(C);
    return {first, first + kStride, first + 2 * kStride};
}

// Statistics of features [kFirst, kFirst + kWidth) merged over the chunks in double, then finished.
template <std::size_t C, std::size_t kFirst>
HWY_INLINE void MergePanel(const float* moments, std::size_t rows, std::size_t chunk_rows, float epsilon,
                           float* batch_mean, float* batch_var, float* inv_std) {
    using Panel = bn_detail::FeaturePanel<C, kFirst>;
    const DF d;
    const std::size_t columns_end = (Panel::kWidth + hn::Lanes(d) - 1) / hn::Lanes(d) * hn::Lanes(d);
    bn_detail::RunningMoments<Panel::kPadded> merged;
    for (std::size_t r0 = 0, chunk = 0; r0 < rows; r0 += chunk_rows, ++chunk) {
        const auto [center, sum_dev, sum_sq_dev] = MomentsOf<C>(moments, chunk);
        merged.MergeBlockFrom(center + kFirst, sum_dev + kFirst, sum_sq_dev + kFirst, columns_end, r0,
                              std::min(chunk_rows, rows - r0));
    }
    const double inv_rows = 1.0 / static_cast<double>(rows);
    bn_detail::ForEachVector(
        bn_detail::DD(), Panel::kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
            bn_detail::FinishMoments<decltype(partial)::value>(merged, j, count, inv_rows, epsilon,
                                                               batch_mean + kFirst + j, batch_var + kFirst + j,
                                                               inv_std + kFirst + j);
        });
}

// Features [kFirst, kFirst + kWidth) of `rows` rows whose blocks were merged in double, stored as a chunk record in
// its long form (see BnChunkMoments). The last panel also zeroes the lanes past the last feature: the merge reads
// whole vectors, as of a block's partial column.
template <std::size_t C, std::size_t kFirst>
HWY_INLINE void StoreMergedRecord(const bn_detail::RunningMoments<bn_detail::FeaturePanel<C, kFirst>::kPadded>& merged,
                                  std::size_t rows, float* moments) {
    using Panel = bn_detail::FeaturePanel<C, kFirst>;
    const auto [center, sum_dev, sum_sq_dev] = MomentsOf<C>(moments, 0);
    const double n = static_cast<double>(rows);
    for (std::size_t j = 0; j < Panel::kWidth; ++j) {
        const float rounded = static_cast<float>(merged.mean[j]);
        const double offset = merged.mean[j] - static_cast<double>(rounded);
        center[kFirst + j] = rounded;
        sum_dev[kFirst + j] = static_cast<float>(offset * n);
        sum_sq_dev[kFirst + j] = static_cast<float>(merged.m2[j] + offset * offset * n);
    }
    if constexpr (kFirst + Panel::kWidth == C) {
        for (std::size_t f = C; f < bn_moments_stride(C); ++f) center[f] = sum_dev[f] = sum_sq_dev[f] = 0.0f;
    }
}

// A chunk longer than one block: the blocks of features [kFirst, kFirst + kWidth) merged in double, stored as a
// chunk record (see BnChunkMoments).
template <std::size_t C, std::size_t kFirst>
HWY_NOINLINE void LongChunkPanelMoments(const float* x, std::size_t rows, float* moments) {
    bn_detail::RunningMoments<bn_detail::FeaturePanel<C, kFirst>::kPadded> merged;
    bn_detail::MergePanelBlocks<C, kFirst>(x, rows, merged);
    StoreMergedRecord<C, kFirst>(merged, rows, moments);
}

template <std::size_t C, std::size_t... kPanel>
HWY_INLINE void LongChunkMoments(std::index_sequence<kPanel...>, const float* x, std::size_t rows, float* moments) {
    (LongChunkPanelMoments<C, kPanel * bn_detail::kPanelFeatures>(x, rows, moments), ...);
}

template <std::size_t C, std::size_t... kPanel>
HWY_INLINE void MergePanels(std::index_sequence<kPanel...>, const float* moments, std::size_t rows,
                            std::size_t chunk_rows, float epsilon, float* batch_mean, float* batch_var,
                            float* inv_std) {
    (MergePanel<C, kPanel * bn_detail::kPanelFeatures>(moments, rows, chunk_rows, epsilon, batch_mean, batch_var,
                                                       inv_std),
     ...);
}

}  // namespace bn_chunked_detail

template <std::size_t C>
void BnChunkMoments(const float* HWY_RESTRICT x, std::size_t rows, float* HWY_RESTRICT moments) {
    static_assert(C > 0, "batch normalization needs at least one feature");
    const auto [center, sum_dev, sum_sq_dev] = bn_chunked_detail::MomentsOf<C>(moments, 0);
    if (rows > bn_detail::kBlockRows) {
        bn_chunked_detail::LongChunkMoments<C>(std::make_index_sequence<bn_detail::PanelCount(C)>(), x, rows, moments);
        return;
    }
    bn_detail::ForEachVector(bn_detail::DF(), C, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
        hn::Vec<bn_detail::DF> column_center, column_sum_dev, column_sum_sq_dev;
        bn_detail::ColumnBlockMoments<decltype(partial)::value>(x + j, C, rows, count, column_center, column_sum_dev,
                                                                column_sum_sq_dev);
        bn_detail::StoreColumnMoments(column_center, column_sum_dev, column_sum_sq_dev, center + j, sum_dev + j,
                                      sum_sq_dev + j);
    });
}

template <std::size_t C>
void BnMergeChunkMoments(const float* HWY_RESTRICT moments, std::size_t rows, std::size_t chunk_rows, float epsilon,
                         float* HWY_RESTRICT batch_mean, float* HWY_RESTRICT batch_var, float* HWY_RESTRICT inv_std) {
    static_assert(C > 0, "batch normalization needs at least one feature");
    if (rows > chunk_rows) {
        bn_chunked_detail::MergePanels<C>(std::make_index_sequence<bn_detail::PanelCount(C)>(), moments, rows,
                                          chunk_rows, epsilon, batch_mean, batch_var, inv_std);
        return;
    }
    const auto [center, sum_dev, sum_sq_dev] = bn_chunked_detail::MomentsOf<C>(moments, 0);
    const bn_detail::DF d;
    bn_detail::ForEachVector(d, C, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
        bn_detail::FinishColumnMoments<decltype(partial)::value>(hn::Load(d, center + j), hn::Load(d, sum_dev + j),
                                                                 hn::Load(d, sum_sq_dev + j), rows, epsilon, count,
                                                                 batch_mean + j, batch_var + j, inv_std + j);
    });
}

template <std::size_t C>
void BnNormalizeRows(const float* HWY_RESTRICT x, std::size_t rows, const float* HWY_RESTRICT batch_mean,
                     const float* HWY_RESTRICT inv_std, float* HWY_RESTRICT xhat) {
    static_assert(C > 0, "batch normalization needs at least one feature");
    bn_detail::ForEachVector(bn_detail::DF(), C, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
        bn_detail::NormalizeColumnBlock<decltype(partial)::value, activation_kind::linear, false, false>(
            x + j, xhat + j, C, rows, count, batch_mean + j, inv_std + j, nullptr, nullptr);
    });
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_BN_CHUNKED_INL_H_
