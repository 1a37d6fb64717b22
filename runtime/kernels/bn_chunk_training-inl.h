// Batch normalization's training passes for a batch cut into chunks, per SIMD target (Highway), for a BN that is not
// folded into the layer after it: every pass over rows runs per chunk (any thread, any process), and what joins the
// chunks is a record per chunk merged in chunk order between the parallel phases. With BnChunkMoments and
// BnMergeChunkMoments (bn_chunked-inl.h) for the statistics, one training step of a BN layer is:
//   forward:  BnChunkMoments per chunk; BnMergeChunkMoments; BnNormalizeChunk per chunk.
//   backward: BnChunkGradientSums per chunk; BnMergeChunkGradients; BnChunkInputGradient per chunk.
// Rows are value rows: a sample of an H x W feature map gives H*W of them.
//
// BnNormalizeChunk<C, Act, Scale, Center>(x, rows, batch_mean, inv_std, gamma, beta, y)
//   requires: x, y [rows, C]; batch_mean, inv_std from BnMergeChunkMoments.
//   ensures:  y = Act(gamma * (x - batch_mean) * inv_std + beta), element for element as BnForwardTrain computes it.
// BnChunkGradientSums<C, Act>(x, y, dy, rows, batch_mean, sums)
//   requires: the chunk's x, its forward output y (nullptr when Act is linear) and dy [rows, C], rows >= 1; sums
//             holds bn_chunk_moments_floats(C) floats, 64-byte aligned.
//   ensures:  with dz = dy * Act'(y): sums[0, C) = sum(dz), sums[stride, stride + C) = sum(dz * (x - batch_mean)),
//             stride = bn_moments_stride(C); float over blocks of kBlockRows rows, the blocks added in double (the
//             float error is bounded by one block, as in BnBackward). The third array is not written.
// BnChunkGradientSumsFromX<C, Act, Scale, Center>(x, dy, rows, batch_mean, inv_std, gamma, beta, sums)
//   requires: as BnChunkGradientSums, with the forward's batch_mean, inv_std, gamma, beta instead of y (a BN whose
//             output is not stored: a Conv2D applies it as it reads, conv2d_bn_input-inl.h).
//   ensures:  sums as BnChunkGradientSums writes them from the y BnNormalizeChunk would store: the same bits (y is
//             recomputed from x by bn_detail::NormalizeValue, BnNormalizeChunk's operations).
// BnMergeChunkGradients<C, Scale, Center>(sums, chunks, rows, gamma, inv_std, dgamma, dbeta, coefficients)
//   requires: sums holds `chunks` records of BnChunkGradientSums one after the other; rows = the batch's value rows.
//   ensures:  the records added in double in chunk order; dgamma = inv_std * sum(dz * (x - mean)) if Scale,
//             dbeta = sum(dz) if Center; unless coefficients is nullptr, coefficients[0, C) and [C, 2C) hold the dx
//             pass's dev_coef and const_coef (BnBackward's scratch).
// BnChunkInputGradient<C, Act, Scale>(x, y, dy, rows, gamma, batch_mean, inv_std, coefficients, dx)
//   requires: as BnChunkGradientSums, and BnMergeChunkGradients's coefficients; dx [rows, C], overlapping nothing.
//   ensures:  dx = gamma * inv_std * (dz - (dbeta + xhat * dgamma) / m), m the batch's value rows.
// BnChunkInputGradientFromX<C, Act, Scale, Center>(x, dy, rows, gamma, beta, batch_mean, inv_std, coefficients, dx)
//   requires, ensures: as BnChunkInputGradient, y recomputed from x as in BnChunkGradientSumsFromX (the same bits).
// No heap allocation. Include inside HWY_NAMESPACE machinery like any Highway -inl.h.

#if defined(NNFUSE_RUNTIME_KERNELS_BN_CHUNK_TRAINING_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_BN_CHUNK_TRAINING_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_BN_CHUNK_TRAINING_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_BN_CHUNK_TRAINING_INL_H_
#endif

#include <algorithm>
#include <cstddef>
#include <utility>

#include "dsl/activation.hpp"
#include "hwy/highway.h"
#include "runtime/kernels/bn_chunked-inl.h"
#include "runtime/kernels/bn_chunked.hpp"
#include "runtime/kernels/bn_columns-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace bn_chunk_training_detail {

using bn_detail::DD;
using bn_detail::DF;

// Rows per step of the element-wise passes: a step's rows of x, y, dy and dx stay in L1 for any C up to the panel.
inline constexpr std::size_t kStepRows = 16;

// Calls op(r0, step_rows) for the steps of a chunk's rows.
template <class Op>
HWY_INLINE void ForEachStep(std::size_t rows, const Op& op) {
    for (std::size_t r0 = 0; r0 < rows; r0 += kStepRows) op(r0, std::min(kStepRows, rows - r0));
}

// The rows of x and dy the step after r0's reads, asked for while r0's step runs: the passes read a step column
// block by column block (a stride of C floats), which the hardware prefetchers do not run ahead of.
template <std::size_t C>
HWY_INLINE void PrefetchNextStep(std::size_t rows, std::size_t r0, const float* x, const float* dy) {
    const std::size_t begin = std::min(rows, r0 + kStepRows) * C, end = std::min(rows, r0 + 2 * kStepRows) * C;
    vector_helpers::PrefetchFloats(x + begin, end - begin);
    vector_helpers::PrefetchFloats(dy + begin, end - begin);
}

// Where the backward passes take y from: the stored output, or (Recompute) x normalized again with the forward's
// constants (bn_detail::RecomputedOutput: the same bits).
struct StoredY {
    template <bool kPartial>
    HWY_INLINE bn_detail::StoredOutput Column(std::size_t /*f*/, std::size_t /*count*/) const {
        return {};
    }
};
template <bool Scale, bool Center>
struct RecomputedY {
    const float *batch_mean, *inv_std, *gamma, *beta;
    template <bool kPartial>
    HWY_INLINE bn_detail::RecomputedOutput<kPartial, Scale, Center> Column(std::size_t f, std::size_t count) const {
        return {bn_detail::ColumnNormalizer<kPartial, Scale, Center>(count, batch_mean + f, inv_std + f,
                                                                     bn_detail::At(gamma, f), bn_detail::At(beta, f))};
    }
};

template <std::size_t C, std::size_t kFirst, activation_kind Act, class YSource = StoredY>
HWY_NOINLINE void PanelGradientSums(const float* x, const float* y, const float* dy, std::size_t rows,
                                    const float* batch_mean, float* sum_dz, float* sum_dz_dev,
                                    const YSource& y_source = {}) {
    using Panel = bn_detail::FeaturePanel<C, kFirst>;
    const DF d;
    const std::size_t columns_end = (Panel::kWidth + hn::Lanes(d) - 1) / hn::Lanes(d) * hn::Lanes(d);
    bn_detail::GradientSums<Panel::kPadded> sums;
    for (std::size_t r0 = 0; r0 < rows; r0 += bn_detail::kBlockRows) {
        const std::size_t block_rows = std::min(bn_detail::kBlockRows, rows - r0);
        bn_detail::ForEachVector(d, Panel::kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
            const std::size_t at = r0 * C + kFirst + j;
            hn::Vec<DF> block_dz, block_dz_dev;
            constexpr bool kPartial = decltype(partial)::value;
            bn_detail::ColumnBlockGradientSums<kPartial, Act>(x + at, bn_detail::At(y, at), dy + at, C, block_rows,
                                                              count, batch_mean + kFirst + j, block_dz, block_dz_dev,
                                                              y_source.template Column<kPartial>(kFirst + j, count),
                                                              /*readable_rows=*/rows - r0);
            hn::Store(block_dz, d, sums.block_dz + j);
            hn::Store(block_dz_dev, d, sums.block_dz_dev + j);
        });
        sums.MergeBlock(columns_end);
    }
    for (std::size_t j = 0; j < Panel::kWidth; ++j) {
        sum_dz[kFirst + j] = static_cast<float>(sums.dz[j]);
        sum_dz_dev[kFirst + j] = static_cast<float>(sums.dz_dev[j]);
    }
}

template <std::size_t C, activation_kind Act, class YSource, std::size_t... kPanel>
HWY_INLINE void GradientSumPanels(std::index_sequence<kPanel...>, const float* x, const float* y, const float* dy,
                                  std::size_t rows, const float* batch_mean, float* sum_dz, float* sum_dz_dev,
                                  const YSource& y_source) {
    (PanelGradientSums<C, kPanel * bn_detail::kPanelFeatures, Act>(x, y, dy, rows, batch_mean, sum_dz, sum_dz_dev,
                                                                   y_source),
     ...);
}

template <std::size_t C, activation_kind Act, class YSource>
HWY_INLINE void ChunkGradientSums(const float* x, const float* y, const float* dy, std::size_t rows,
                                  const float* batch_mean, float* sums, const YSource& y_source) {
    static_assert(C > 0, "batch normalization needs at least one feature");
    float* sum_dz = sums;
    float* sum_dz_dev = sums + bn_moments_stride(C);
    // The merge reads whole vectors: the lanes past the last feature hold zeros.
    for (std::size_t f = C; f < bn_moments_stride(C); ++f) sum_dz[f] = sum_dz_dev[f] = 0.0f;
    GradientSumPanels<C, Act>(std::make_index_sequence<bn_detail::PanelCount(C)>(), x, y, dy, rows, batch_mean, sum_dz,
                              sum_dz_dev, y_source);
}

template <std::size_t C, activation_kind Act, bool Scale, class YSource>
HWY_INLINE void ChunkInputGradient(const float* x, const float* y, const float* dy, std::size_t rows,
                                   const float* gamma, const float* batch_mean, const float* inv_std,
                                   const float* coefficients, float* dx, const YSource& y_source) {
    static_assert(C > 0, "batch normalization needs at least one feature");
    ForEachStep(rows, [&](std::size_t r0, std::size_t step_rows) HWY_ATTR {
        PrefetchNextStep<C>(rows, r0, x, dy);
        bn_detail::ForEachVector(bn_detail::DF(), C, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
            constexpr bool kPartial = decltype(partial)::value;
            const std::size_t at = r0 * C + j;
            bn_detail::InputGradientColumnBlock<kPartial, Act, Scale>(
                x + at, bn_detail::At(y, at), dy + at, dx + at, C, step_rows, count, batch_mean + j, inv_std + j,
                bn_detail::At(gamma, j), coefficients + j, coefficients + C + j,
                y_source.template Column<kPartial>(j, count));
        });
    });
}

template <std::size_t C, std::size_t kFirst, bool Scale, bool Center>
HWY_NOINLINE void MergePanelGradients(const float* records, std::size_t chunks, std::size_t rows, const float* gamma,
                                      const float* inv_std, float* dgamma, float* dbeta, float* coefficients) {
    using Panel = bn_detail::FeaturePanel<C, kFirst>;
    constexpr std::size_t kStride = bn_moments_stride(C);
    const DD dd;
    const std::size_t columns_end = (Panel::kWidth + hn::Lanes(DF()) - 1) / hn::Lanes(DF()) * hn::Lanes(DF());
    bn_detail::GradientSums<Panel::kPadded> sums;
    for (std::size_t chunk = 0; chunk < chunks; ++chunk) {
        const float* record = records + chunk * bn_chunk_moments_floats(C) + kFirst;
        for (std::size_t j = 0; j < columns_end; j += hn::Lanes(dd)) {
            hn::Store(hn::Add(hn::Load(dd, sums.dz + j), bn_detail::LoadWidened(dd, record + j)), dd, sums.dz + j);
            hn::Store(hn::Add(hn::Load(dd, sums.dz_dev + j), bn_detail::LoadWidened(dd, record + kStride + j)), dd,
                      sums.dz_dev + j);
        }
    }
    float* dev_coef = coefficients == nullptr ? nullptr : coefficients + kFirst;
    float* const_coef = coefficients == nullptr ? nullptr : coefficients + C + kFirst;
    bn_detail::ForEachVector(dd, Panel::kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
        const std::size_t f = kFirst + j;
        bn_detail::FinishGradients<decltype(partial)::value, Scale, Center>(
            sums, j, count, static_cast<double>(rows), bn_detail::At(gamma, f), inv_std + f, bn_detail::At(dgamma, f),
            bn_detail::At(dbeta, f), bn_detail::At(dev_coef, j), bn_detail::At(const_coef, j));
    });
}

template <std::size_t C, bool Scale, bool Center, std::size_t... kPanel>
HWY_INLINE void MergeGradientPanels(std::index_sequence<kPanel...>, const float* records, std::size_t chunks,
                                    std::size_t rows, const float* gamma, const float* inv_std, float* dgamma,
                                    float* dbeta, float* coefficients) {
    (MergePanelGradients<C, kPanel * bn_detail::kPanelFeatures, Scale, Center>(records, chunks, rows, gamma, inv_std,
                                                                               dgamma, dbeta, coefficients),
     ...);
}

}  // namespace bn_chunk_training_detail

template <std::size_t C, activation_kind Act, bool Scale, bool Center>
void BnNormalizeChunk(const float* HWY_RESTRICT x, std::size_t rows, const float* HWY_RESTRICT batch_mean,
                      const float* HWY_RESTRICT inv_std, const float* HWY_RESTRICT gamma,
                      const float* HWY_RESTRICT beta, float* HWY_RESTRICT y) {
    static_assert(C > 0, "batch normalization needs at least one feature");
    static_assert(Act != activation_kind::softmax, "softmax is not element-wise: fuse it with the loss");
    bn_chunk_training_detail::ForEachStep(rows, [&](std::size_t r0, std::size_t step_rows) HWY_ATTR {
        bn_detail::ForEachVector(bn_detail::DF(), C, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
            bn_detail::NormalizeColumnBlock<decltype(partial)::value, Act, Scale, Center>(
                x + r0 * C + j, y + r0 * C + j, C, step_rows, count, batch_mean + j, inv_std + j,
                bn_detail::At(gamma, j), bn_detail::At(beta, j));
        });
    });
}

template <std::size_t C, activation_kind Act>
void BnChunkGradientSums(const float* HWY_RESTRICT x, const float* HWY_RESTRICT y, const float* HWY_RESTRICT dy,
                         std::size_t rows, const float* HWY_RESTRICT batch_mean, float* HWY_RESTRICT sums) {
    if constexpr (Act == activation_kind::linear) y = nullptr;  // Act'(y) = 1: y is not read
    bn_chunk_training_detail::ChunkGradientSums<C, Act>(x, y, dy, rows, batch_mean, sums,
                                                        bn_chunk_training_detail::StoredY{});
}

template <std::size_t C, activation_kind Act, bool Scale, bool Center>
void BnChunkGradientSumsFromX(const float* HWY_RESTRICT x, const float* HWY_RESTRICT dy, std::size_t rows,
                              const float* HWY_RESTRICT batch_mean, const float* HWY_RESTRICT inv_std,
                              const float* HWY_RESTRICT gamma, const float* HWY_RESTRICT beta,
                              float* HWY_RESTRICT sums) {
    bn_chunk_training_detail::ChunkGradientSums<C, Act>(
        x, nullptr, dy, rows, batch_mean, sums,
        bn_chunk_training_detail::RecomputedY<Scale, Center>{batch_mean, inv_std, gamma, beta});
}

template <std::size_t C, bool Scale, bool Center>
void BnMergeChunkGradients(const float* HWY_RESTRICT sums, std::size_t chunks, std::size_t rows,
                           const float* HWY_RESTRICT gamma, const float* HWY_RESTRICT inv_std,
                           float* HWY_RESTRICT dgamma, float* HWY_RESTRICT dbeta, float* HWY_RESTRICT coefficients) {
    static_assert(C > 0, "batch normalization needs at least one feature");
    bn_chunk_training_detail::MergeGradientPanels<C, Scale, Center>(
        std::make_index_sequence<bn_detail::PanelCount(C)>(), sums, chunks, rows, gamma, inv_std, dgamma, dbeta,
        coefficients);
}

template <std::size_t C, activation_kind Act, bool Scale>
void BnChunkInputGradient(const float* HWY_RESTRICT x, const float* HWY_RESTRICT y, const float* HWY_RESTRICT dy,
                          std::size_t rows, const float* HWY_RESTRICT gamma, const float* HWY_RESTRICT batch_mean,
                          const float* HWY_RESTRICT inv_std, const float* HWY_RESTRICT coefficients,
                          float* HWY_RESTRICT dx) {
    if constexpr (Act == activation_kind::linear) y = nullptr;
    bn_chunk_training_detail::ChunkInputGradient<C, Act, Scale>(x, y, dy, rows, gamma, batch_mean, inv_std,
                                                                coefficients, dx, bn_chunk_training_detail::StoredY{});
}

template <std::size_t C, activation_kind Act, bool Scale, bool Center>
void BnChunkInputGradientFromX(const float* HWY_RESTRICT x, const float* HWY_RESTRICT dy, std::size_t rows,
                               const float* HWY_RESTRICT gamma, const float* HWY_RESTRICT beta,
                               const float* HWY_RESTRICT batch_mean, const float* HWY_RESTRICT inv_std,
                               const float* HWY_RESTRICT coefficients, float* HWY_RESTRICT dx) {
    bn_chunk_training_detail::ChunkInputGradient<C, Act, Scale>(
        x, nullptr, dy, rows, gamma, batch_mean, inv_std, coefficients, dx,
        bn_chunk_training_detail::RecomputedY<Scale, Center>{batch_mean, inv_std, gamma, beta});
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_BN_CHUNK_TRAINING_INL_H_
