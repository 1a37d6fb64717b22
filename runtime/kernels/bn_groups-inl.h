// Batch normalization's per-chunk records merged by statistics groups (runtime/parallel/bn_statistics_groups.hpp),
// per SIMD target (Highway): the merges of bn_chunked-inl.h and bn_chunk_training-inl.h applied to the group of
// chunks whose statistics normalize this process's chunks, so that a training step can use the statistics of the
// whole batch (one group: exactly those kernels, the same bits) or of each process's share (per-rank statistics).
// `rows_per_sample` turns the groups' rows (samples) into value rows (H*W per sample of a feature map); chunk_rows is
// in value rows, as BnMergeChunkMoments's.
//
// BnMergeGroupMoments<C>(moments, groups, rows_per_sample, chunk_rows, epsilon, batch_mean, batch_var, inv_std,
//                        moving_mean, moving_var)
//   requires: moments holds every chunk's BnChunkMoments record of the batch, in chunk order.
//   ensures:  batch_mean, batch_var, inv_std = BnMergeChunkMoments over groups.own()'s records (not written when
//             it has no chunk); moving_mean, moving_var = the batch mean and biased variance of groups.moving()'s
//             records, from which the moving statistics are updated (a copy of batch_mean, batch_var when it is
//             the own group).
// BnMergeGroupGradients<C, Scale, Center>(sums, moments, groups, rows_per_sample, chunk_rows, epsilon, gamma,
//                                         inv_std, dgamma, dbeta, coefficients)
//   requires: sums every chunk's BnChunkGradientSums record (formed with its own group's batch_mean), moments as
//             above, inv_std from BnMergeGroupMoments.
//   ensures:  one group: BnMergeChunkGradients over every chunk. Several: coefficients (unless nullptr) from the own
//             group's records, rows and inv_std (nothing when it has no chunk); dgamma = sum over the groups, in
//             order, of the group's inv_std (merged again from its moments) times its sum(dz * (x - mean)), and
//             dbeta = sum(dz) over every chunk, each group added in double.
// Stack only (a few arrays of C floats); no heap allocation. Include inside HWY_NAMESPACE machinery.

#if defined(NNFUSE_RUNTIME_KERNELS_BN_GROUPS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_BN_GROUPS_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_BN_GROUPS_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_BN_GROUPS_INL_H_
#endif

#include <algorithm>
#include <cstddef>

#include "hwy/highway.h"
#include "runtime/kernels/bn_chunk_training-inl.h"
#include "runtime/kernels/bn_chunked-inl.h"
#include "runtime/kernels/bn_chunked.hpp"
#include "runtime/parallel/bn_statistics_groups.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {

template <std::size_t C>
void BnMergeGroupMoments(const float* HWY_RESTRICT moments, const bn_statistics_groups& groups,
                         std::size_t rows_per_sample, std::size_t chunk_rows, float epsilon,
                         float* HWY_RESTRICT batch_mean, float* HWY_RESTRICT batch_var, float* HWY_RESTRICT inv_std,
                         float* HWY_RESTRICT moving_mean, float* HWY_RESTRICT moving_var) {
    const chunk_group& own = groups.own();
    if (own.count != 0) {
        BnMergeChunkMoments<C>(moments + own.first * bn_chunk_moments_floats(C), own.rows * rows_per_sample, chunk_rows,
                               epsilon, batch_mean, batch_var, inv_std);
    }
    if (groups.moving_index() == groups.own_index()) {
        std::copy_n(batch_mean, C, moving_mean);
        std::copy_n(batch_var, C, moving_var);
        return;
    }
    const chunk_group& moving = groups.moving();
    HWY_ALIGN float unused_inv_std[bn_moments_stride(C)];
    BnMergeChunkMoments<C>(moments + moving.first * bn_chunk_moments_floats(C), moving.rows * rows_per_sample,
                           chunk_rows, epsilon, moving_mean, moving_var, unused_inv_std);
}

template <std::size_t C, bool Scale, bool Center>
void BnMergeGroupGradients(const float* HWY_RESTRICT sums, const float* HWY_RESTRICT moments,
                           const bn_statistics_groups& groups, std::size_t rows_per_sample, std::size_t chunk_rows,
                           float epsilon, const float* HWY_RESTRICT gamma, const float* HWY_RESTRICT inv_std,
                           float* HWY_RESTRICT dgamma, float* HWY_RESTRICT dbeta, float* HWY_RESTRICT coefficients) {
    constexpr std::size_t kRecord = bn_chunk_moments_floats(C);
    if (groups.all().size() == 1) {
        const chunk_group& all = groups.all()[0];
        BnMergeChunkGradients<C, Scale, Center>(sums, all.count, all.rows * rows_per_sample, gamma, inv_std, dgamma,
                                                dbeta, coefficients);
        return;
    }
    const chunk_group& own = groups.own();
    HWY_ALIGN float group_mean[bn_moments_stride(C)], group_var[bn_moments_stride(C)],
        group_inv_std[bn_moments_stride(C)], group_dgamma[bn_moments_stride(C)], group_dbeta[bn_moments_stride(C)];
    if (coefficients != nullptr && own.count != 0) {
        BnMergeChunkGradients<C, Scale, Center>(sums + own.first * kRecord, own.count, own.rows * rows_per_sample,
                                                gamma, inv_std, group_dgamma, group_dbeta, coefficients);
    }
    if constexpr (!Scale && !Center) return;
    double total_dgamma[C] = {}, total_dbeta[C] = {};
    for (const chunk_group& group : groups.all()) {
        if (group.count == 0) continue;
        const std::size_t rows = group.rows * rows_per_sample;
        BnMergeChunkMoments<C>(moments + group.first * kRecord, rows, chunk_rows, epsilon, group_mean, group_var,
                               group_inv_std);
        BnMergeChunkGradients<C, Scale, Center>(sums + group.first * kRecord, group.count, rows, gamma, group_inv_std,
                                                group_dgamma, group_dbeta, nullptr);
        for (std::size_t f = 0; f < C; ++f) {
            if constexpr (Scale) total_dgamma[f] += static_cast<double>(group_dgamma[f]);
            if constexpr (Center) total_dbeta[f] += static_cast<double>(group_dbeta[f]);
        }
    }
    for (std::size_t f = 0; f < C; ++f) {
        if constexpr (Scale) dgamma[f] = static_cast<float>(total_dgamma[f]);
        if constexpr (Center) dbeta[f] = static_cast<float>(total_dbeta[f]);
    }
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_BN_GROUPS_INL_H_
