// The two products of the Conv2D backward pass (conv2d-inl.h's Conv2dBackward), per SIMD target (Highway), in
// namespace conv_detail. Both go through gemm-inl.h's register-blocked micro-kernel over patches (im2col):
//
// KernelGradient<G, Filters>(x, dz, rows, dkernel): dkernel[k, f] = sum over the call's output pixels p of
//   patch(p)[k] * dz[p, f]. The pixels of all samples are one sequence, cut into tiles of up to 64 whose patches are
//   copied into a stack tile; per tile, blocks of patch columns k times blocks of filters accumulate from zero in
//   registers (depth: the tile's pixels) and are then added to dkernel: a blocked sum, so rounding grows with the
//   tile size plus the number of tiles, not with the pixel count.
// InputGradient<G, Filters>(dz, kernel, dx_sample): one sample's dx. dpatch = dz . kernel^T (A = dz, depth: filters;
//   B = a slice of kernel^T transposed into a stack tile, vectors along patch columns), then each block of dpatch
//   rows is added into dx window row by window row (col2im). dx is zeroed first, so positions no window touches
//   hold 0, and the sums into each position run in an order fixed by the geometry alone.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_CONV2D_BACKWARD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_CONV2D_BACKWARD_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_CONV2D_BACKWARD_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_CONV2D_BACKWARD_INL_H_
#endif

#include <algorithm>
#include <cstddef>

#include "hwy/highway.h"
#include "runtime/kernels/conv2d_windows-inl.h"
#include "runtime/kernels/gemm-inl.h"
#include "runtime/kernels/simd_columns-inl.h"
#include "runtime/kernels/window_geometry.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace conv_detail {

using dense_detail::ForEachColumnBlock;
using dense_detail::ForEachRowBlock;
using dense_detail::ForEachUnitChunk;
using dense_detail::kMaxBlockRows;
using dense_detail::kMaxBlockVectors;
using dense_detail::LoadBlock;
using dense_detail::MultiplyAccumulate;
using dense_detail::RowsPerBlock;
using dense_detail::StoreRows;
using dense_detail::TagOf;
using dense_detail::Transpose;
using dense_detail::ZeroBlock;

template <window_geometry G>
inline constexpr std::size_t kPixelsPerPatchTile = std::clamp<std::size_t>(kPatchTileFloats / kPatchFloats<G>, 1, 64);

template <window_geometry G, std::size_t Filters>
HWY_INLINE void KernelGradient(const float* HWY_RESTRICT x, const float* HWY_RESTRICT dz, std::size_t rows,
                               float* HWY_RESTRICT dkernel) {
    constexpr std::size_t kDepth = kPatchFloats<G>, kTilePixels = kPixelsPerPatchTile<G>;
    HWY_ALIGN float patches[kTilePixels * kDepth];
    std::fill(dkernel, dkernel + kDepth * Filters, 0.0f);
    const std::size_t pixels = rows * kOutputPixels<G>;
    for (std::size_t first_pixel = 0; first_pixel < pixels; first_pixel += kTilePixels) {
        const std::size_t count = std::min(kTilePixels, pixels - first_pixel);
        for (std::size_t j = 0; j < count; ++j) {
            const std::size_t pixel = first_pixel + j, in_sample = pixel % kOutputPixels<G>;
            CopyPatch<G>(x + pixel / kOutputPixels<G> * G.input_size(), in_sample / G.out_width(),
                         in_sample % G.out_width(), patches + j * kDepth);
        }
        const float* tile_dz = dz + first_pixel * Filters;
        ForEachColumnBlock<Filters, kMaxBlockVectors>([&]<class Block>(std::size_t first_filter) {
            const Block zeros = ZeroBlock<Block>();
            ForEachRowBlock<RowsPerBlock(Block::kCount)>(kDepth, [&]<std::size_t kRows>(std::size_t first_column) {
                Block acc[kRows];
                vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) { acc[i] = zeros; });
                MultiplyAccumulate</*kARowStride=*/1, /*kADepthStride=*/kDepth, /*kBRowStride=*/Filters,
                                   /*kBPadded=*/false>(patches + first_column, tile_dz + first_filter, count, acc);
                float* out = dkernel + first_column * Filters + first_filter;
                vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) {
                    const Block sums = LoadBlock<Block>(out + i * Filters);
                    vector_helpers::Unroll<Block::kCount>([&](auto j) __attribute__((always_inline)) {
                        acc[i][j] = hn::Add(sums[j], acc[i][j]);
                    });
                });
                StoreRows<Filters>(acc, out);
            });
        });
    }
}

template <window_geometry G, std::size_t Filters>
HWY_INLINE void InputGradient(const float* HWY_RESTRICT dz, const float* HWY_RESTRICT kernel,
                              float* HWY_RESTRICT dx_sample) {
    constexpr std::size_t kDepth = kPatchFloats<G>;
    std::fill(dx_sample, dx_sample + G.input_size(), 0.0f);
    constexpr std::size_t kBlockVectors =
        std::clamp<std::size_t>(kKernelTileFloats / (Filters * kLanes), 1, kMaxBlockVectors);
    ForEachColumnBlock<kDepth, kBlockVectors>([&]<class Block>(std::size_t first_column) {
        constexpr std::size_t kTileColumns = Block::kCount * kLanes;
        constexpr std::size_t kChunkFilters = std::min(Filters, kKernelTileFloats / kTileColumns);
        HWY_ALIGN float tile[kChunkFilters * kTileColumns];
        HWY_ALIGN float dpatch[kMaxBlockRows * kTileColumns];
        if constexpr (Block::kColumns < kTileColumns) {  // the micro-kernel loads whole tile vectors: zero padding
            for (std::size_t p = 0; p < kChunkFilters; ++p) {
                std::fill(tile + p * kTileColumns + Block::kColumns, tile + (p + 1) * kTileColumns, 0.0f);
            }
        }
        const Block zeros = ZeroBlock<Block>();
        ForEachUnitChunk<Filters, kChunkFilters>([&](std::size_t first_filter, auto chunk_filters) {
            Transpose<Block::kColumns, chunk_filters, Filters, kTileColumns>(
                kernel + first_column * Filters + first_filter, tile);
            ForEachRowBlock<RowsPerBlock(Block::kCount)>(
                kOutputPixels<G>, [&]<std::size_t kRows>(std::size_t first_pixel) {
                    Block acc[kRows];
                    vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) { acc[i] = zeros; });
                    MultiplyAccumulate</*kARowStride=*/Filters, /*kADepthStride=*/1, kTileColumns,
                                       /*kBPadded=*/true>(dz + first_pixel * Filters + first_filter, tile,
                                                          chunk_filters, acc);
                    StoreRows<kTileColumns>(acc, dpatch);
                    for (std::size_t i = 0; i < kRows; ++i) {
                        AddPatchColumns<G>(dpatch + i * kTileColumns, first_pixel + i, first_column, Block::kColumns,
                                           dx_sample);
                    }
                });
        });
    });
}

}  // namespace conv_detail

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_CONV2D_BACKWARD_INL_H_
