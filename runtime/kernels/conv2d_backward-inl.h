// The two products of the Conv2D backward pass (conv2d-inl.h's Conv2dBackward), per SIMD target (Highway), in
// namespace conv_detail. Both go through gemm-inl.h's register-blocked micro-kernel (vectors along Filters):
//
// DirectKernelGradient<G, Filters, Act, UseBias>(x, y, dy, rows, dkernel, dbias[, copy]), what conv2d-inl.h's
//   KernelGradient runs where the geometry is not Winograd's (conv2d_winograd_gradient-inl.h): the band of input rows
//   filled by copy (PlainSpanCopy's call, conv2d_windows-inl.h: the input as it is by default); dy becomes dz = dy *
//   Act'(y) and dbias the sum of dz over the pixels in order (dense_detail::SumColumns's sums when a tile's rows are
//   whole), tile by tile just before the tile's product; dkernel[k, f] = sum over the call's output pixels p of
//   patch(p)[k] * dz[p, f]. Each sample's output is cut into tiles of kTileRows output rows times a segment of
//   kTileSegment columns (whole rows unless a row's band is too wide), as many rows as let the input rows their windows
//   read fit, zero-padded, in a stack band (kBandFloats); the band is the A operand directly (depth stride stride_w *
//   channels, as in the forward), so no patch is ever copied. Per tile and window row kh, blocks of that window row's
//   patch columns times blocks of filters accumulate from zero in registers over the tile's pixels (its rows one after
//   another, the depth of the sums: 168 pixels on 28x28x32, a whole 14x14 image) and are then added to dkernel: a
//   blocked sum, so rounding grows with the tile size plus the number of tiles, not with the pixel count. A patch that
//   fits the accumulator registers (one input channel, 3x3: 9 rows of up to 32 filters on AVX-512) is one block of all
//   its taps, read from the band at their offsets, rather than window rows of 3. The sums depend on rows and G alone:
//   the same bits for the same call however the caller threads.
// InputGradientIsForwardConvolution<G, Filters>(), kInputGradientGeometry<G, Filters>, FlipKernel<G, Filters>(kernel,
//   flipped): where dx is the forward convolution of dz with the flipped kernel (stride 1, same padding, odd windows;
//   see below), the geometry and kernel conv2d-inl.h's InputGradientsAsForward runs the forward's ForwardSample with.
//   FlipKernel writes window_h * window_w * channels * Filters floats to flipped, which overlaps nothing.
//   kInputGradientIsForward<G, Filters>: where Conv2dBackward takes that path (where it is also the faster one).
// InputGradient<G, Filters>(dz, kernel, dx_sample): one sample's dx, for the other geometries. dpatch = dz .
//   kernel^T (A = dz, depth: filters; B = a slice of kernel^T transposed into a stack tile, vectors along patch
//   columns), then each block of dpatch rows is added into dx window row by window row (col2im). dx is zeroed first, so
//   positions no window touches hold 0, and the sums into each position run in an order fixed by the geometry alone.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_CONV2D_BACKWARD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_CONV2D_BACKWARD_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_CONV2D_BACKWARD_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_CONV2D_BACKWARD_INL_H_
#endif

#include <algorithm>
#include <cstddef>

#include "dsl/activation.hpp"
#include "hwy/highway.h"
#include "runtime/kernels/activation-inl.h"
#include "runtime/kernels/conv2d_windows-inl.h"
#include "runtime/kernels/dense-inl.h"
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
using dense_detail::LoadBlockVector;
using dense_detail::LowerLanes;
using dense_detail::MultiplyAccumulate;
using dense_detail::RowsPerBlock;
using dense_detail::StoreBlock;
using dense_detail::StoreRows;
using dense_detail::TagOf;
using dense_detail::Transpose;
using dense_detail::V;
using dense_detail::ZeroBlock;

// Floats of one band row for a segment of `pixels` output pixels: the input columns their windows read.
template <window_geometry G>
constexpr std::size_t BandRowFloats(std::size_t pixels) {
    return ((pixels - 1) * G.stride_w + G.window_w) * G.channels;
}
// A kernel-gradient tile: kTileRows output rows of one sample times a segment of kTileSegment output columns, as
// many rows as let their band of input rows fit in kBandFloats.
template <window_geometry G>
inline constexpr std::size_t kTileSegment = SegmentPixels<G>();
template <window_geometry G>
inline constexpr std::size_t kTileRows = std::clamp<std::size_t>(
    (kBandFloats / BandRowFloats<G>(kTileSegment<G>) - G.window_h) / G.stride_h + 1, 1, G.out_height());

// sums[f] += values[p, f] for p < count, pixel after pixel: dense_detail::SumColumns's order, continued from sums.
template <std::size_t Filters>
HWY_INLINE void AddColumnSums(const float* HWY_RESTRICT values, std::size_t count, float* HWY_RESTRICT sums) {
    ForEachColumnBlock<Filters, kMaxBlockVectors>([&]<class Block>(std::size_t first) {
        Block block_sums = LoadBlock<Block>(sums + first);
        for (std::size_t p = 0; p < count; ++p) {
            const Block row = LoadBlock<Block>(values + p * Filters + first);
            vector_helpers::Unroll<Block::kCount>([&](auto j) __attribute__((always_inline)) {
                block_sums[j] = hn::Add(block_sums[j], row[j]);
            });
        }
        StoreBlock(block_sums, sums + first);
    });
}

// dkernel rows [k0, k0 + kRows) += their sums in acc (one Block of filters from `out` on, row stride Filters).
template <std::size_t Filters, std::size_t kRows, class Block>
HWY_INLINE void AddRows(Block (&acc)[kRows], float* HWY_RESTRICT out) {
    vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) {
        const Block sums = LoadBlock<Block>(out + i * Filters);
        vector_helpers::Unroll<Block::kCount>([&](auto j) __attribute__((always_inline)) {
            acc[i][j] = hn::Add(sums[j], acc[i][j]);
        });
    });
    StoreRows<Filters>(acc, out);
}

// When a whole patch fits in the accumulator registers (one input channel: 9 taps of a 3x3 window, times up to 32
// filters on AVX-512, 8 on AVX2), a window row would be too short a block; instead every tap k of the patch is a
// row, A(k, p) read from the band at the tap's offset.
template <window_geometry G, std::size_t Filters, class Block>
inline constexpr bool kWholePatchBlock =
    kPatchFloats<G>* Block::kCount <= dense_detail::kAccumulatorRegisters&& G.window_h > 1;

// acc[k] += sum over the tile's pixels of patch(p)[k] * dz[p, block], the patch read from the band in place.
template <window_geometry G, std::size_t Filters, std::size_t kBandRow, class Block>
HWY_INLINE void MultiplyAccumulatePatches(const float* HWY_RESTRICT band, const float* HWY_RESTRICT tile_dz,
                                          std::size_t tile_rows, std::size_t pixels, Block (&acc)[kPatchFloats<G>]) {
    for (std::size_t t = 0; t < tile_rows; ++t) {
        const float* HWY_RESTRICT a = band + t * G.stride_h * kBandRow;
        const float* HWY_RESTRICT b = tile_dz + t * G.out_width() * Filters;
        for (std::size_t p = 0; p < pixels; ++p, a += G.stride_w * G.channels, b += Filters) {
            Block b_vectors;
            vector_helpers::Unroll<Block::kCount>([&](auto j) __attribute__((always_inline)) {
                b_vectors[j] = LoadBlockVector<Block, false>(j, b);
            });
            vector_helpers::Unroll<kPatchFloats<G>>([&](auto k) __attribute__((always_inline)) {
                constexpr std::size_t kOffset = k / kWindowRowFloats<G> * kBandRow + k % kWindowRowFloats<G>;
                const V a_value = hn::Set(FloatTag(), a[kOffset]);
                vector_helpers::Unroll<Block::kCount>([&](auto j) __attribute__((always_inline)) {
                    acc[k][j] = hn::MulAdd(LowerLanes(TagOf<Block, decltype(j)>(), a_value), b_vectors[j], acc[k][j]);
                });
            });
        }
    }
}

// dz = dy * Act'(y) in place for `pixels` pixels (Filters floats each) from `offset`, and their dz added to dbias.
template <std::size_t Filters, activation_kind Act, bool UseBias>
HWY_INLINE void ChainPixels([[maybe_unused]] const float* HWY_RESTRICT y, float* HWY_RESTRICT dy, std::size_t offset,
                            std::size_t pixels, [[maybe_unused]] float* HWY_RESTRICT dbias) {
    if constexpr (Act != activation_kind::linear) {
        dense_detail::ChainActivationDerivative<Act>(y + offset, dy + offset, pixels * Filters);
    }
    if constexpr (UseBias) AddColumnSums<Filters>(dy + offset, pixels, dbias);
}

template <window_geometry G, std::size_t Filters, activation_kind Act, bool UseBias, class Copy = PlainSpanCopy>
HWY_INLINE void DirectKernelGradient(const float* HWY_RESTRICT x, const float* HWY_RESTRICT y, float* HWY_RESTRICT dy,
                                     std::size_t rows, float* HWY_RESTRICT dkernel, float* HWY_RESTRICT dbias,
                                     const Copy& copy = {}) {
    constexpr std::size_t kSegment = kTileSegment<G>, kRows = kTileRows<G>;
    constexpr std::size_t kBandRow = BandRowFloats<G>(kSegment), kBandRows = (kRows - 1) * G.stride_h + G.window_h;
    constexpr std::size_t kPixelStride = G.stride_w * G.channels;  // A's depth stride: next output pixel
    constexpr ptrdiff_t kRowFloats = static_cast<ptrdiff_t>(G.width * G.channels);
    HWY_ALIGN float band[kBandRows * kBandRow];
    std::fill(dkernel, dkernel + kPatchFloats<G> * Filters, 0.0f);
    if constexpr (UseBias) std::fill(dbias, dbias + Filters, 0.0f);
    for (std::size_t r = 0; r < rows; ++r) {
        const float* sample = x + r * G.input_size();
        for (std::size_t first_oh = 0; first_oh < G.out_height(); first_oh += kRows) {
            const std::size_t tile_rows = std::min(kRows, G.out_height() - first_oh);
            const ptrdiff_t first_ih =
                static_cast<ptrdiff_t>(first_oh * G.stride_h) - static_cast<ptrdiff_t>(G.pad_top());
            for (std::size_t first_ow = 0; first_ow < G.out_width(); first_ow += kSegment) {
                const std::size_t pixels = std::min(kSegment, G.out_width() - first_ow);
                const std::size_t tile_offset = ((r * G.out_height() + first_oh) * G.out_width() + first_ow) * Filters;
                for (std::size_t t = 0; t < tile_rows; ++t) {
                    ChainPixels<Filters, Act, UseBias>(y, dy, tile_offset + t * G.out_width() * Filters, pixels, dbias);
                }
                const ptrdiff_t first =
                    (static_cast<ptrdiff_t>(first_ow * G.stride_w) - static_cast<ptrdiff_t>(G.pad_left())) *
                    static_cast<ptrdiff_t>(G.channels);
                const std::size_t band_rows = std::min(kBandRows, (tile_rows - 1) * G.stride_h + G.window_h);
                for (std::size_t b = 0; b < band_rows; ++b) {
                    const ptrdiff_t ih = first_ih + static_cast<ptrdiff_t>(b);
                    const bool inside = ih >= 0 && ih < static_cast<ptrdiff_t>(G.height);
                    copy(inside ? sample + ih * kRowFloats : sample, first, BandRowFloats<G>(pixels),
                         inside ? kRowFloats : 0, band + b * kBandRow);
                }
                const float* tile_dz = dy + tile_offset;
                ForEachColumnBlock<Filters, kMaxBlockVectors>([&]<class Block>(std::size_t first_filter) {
                    const Block zeros = ZeroBlock<Block>();
                    if constexpr (kWholePatchBlock<G, Filters, Block>) {
                        Block acc[kPatchFloats<G>];
                        vector_helpers::Unroll<kPatchFloats<G>>([&](auto k)
                                                                    __attribute__((always_inline)) { acc[k] = zeros; });
                        MultiplyAccumulatePatches<G, Filters, kBandRow>(band, tile_dz + first_filter, tile_rows, pixels,
                                                                        acc);
                        AddRows<Filters>(acc, dkernel + first_filter);
                        return;
                    }
                    for (std::size_t kh = 0; kh < G.window_h; ++kh) {
                        ForEachRowBlock<RowsPerBlock(Block::kCount)>(
                            kWindowRowFloats<G>, [&]<std::size_t kBlockRows>(std::size_t column) {
                                Block acc[kBlockRows];
                                vector_helpers::Unroll<kBlockRows>([&](auto i) __attribute__((always_inline)) {
                                    acc[i] = zeros;
                                });
                                for (std::size_t t = 0; t < tile_rows; ++t) {
                                    MultiplyAccumulate</*kARowStride=*/1, kPixelStride, /*kBRowStride=*/Filters,
                                                       /*kBPadded=*/false>(
                                        band + (t * G.stride_h + kh) * kBandRow + column,
                                        tile_dz + t * G.out_width() * Filters + first_filter, pixels, acc);
                                }
                                AddRows<Filters>(
                                    acc, dkernel + (kh * kWindowRowFloats<G> + column) * Filters + first_filter);
                            });
                    }
                });
            }
        }
    }
}

// dx as a forward convolution: for stride 1 and same padding with odd windows (pad_top = (window_h - 1) / 2 before and
// as many after, likewise across), dx[i, c] = sum over taps t' and filters f of dz[i + t' - pad, f] K'[t', f, c] with
// K'[kh', kw', f, c] = K[window_h - 1 - kh', window_w - 1 - kw', c, f]: the forward of dz (out_height x out_width x
// Filters, padded the same way) with that kernel, whose channels are G's. Even windows pad asymmetrically, strides
// skip input positions and valid padding would need window - 1 zeros each side: those keep InputGradient. The dual
// patch must also fit the forward's band (CheckGeometry).
template <window_geometry G, std::size_t Filters>
constexpr bool InputGradientIsForwardConvolution() {
    return input_gradient_is_forward_convolution(G, Filters);  // window_geometry.hpp: the generator decides with it
}
// Conv2dBackward takes that path only when dx's channels (the forward's output columns, along which its vectors run)
// span more than one vector: with one or less its register blocks are a single vector wide, and the scatter, whose
// vectors run along the window x channels patch columns, is faster (AVX-512, 3x3, 16 to 64 filters: 1.1-1.8x at 4, 8
// and 16 channels; the forward 1.2-1.8x faster at 24 and 32).
template <window_geometry G, std::size_t Filters>
inline constexpr bool kInputGradientIsForward = InputGradientIsForwardConvolution<G, Filters>() && G.channels > kLanes;
template <window_geometry G, std::size_t Filters>
inline constexpr window_geometry kInputGradientGeometry = input_gradient_geometry(G, Filters);

// flipped[t', f, c] = kernel[taps - 1 - t', c, f]: both spatial axes reversed (tap t = kh * window_w + kw becomes
// taps - 1 - t) and each tap's [channels, Filters] block transposed.
template <window_geometry G, std::size_t Filters>
HWY_INLINE void FlipKernel(const float* HWY_RESTRICT kernel, float* HWY_RESTRICT flipped) {
    constexpr std::size_t kTaps = G.window_h * G.window_w, kTapFloats = G.channels * Filters;
    for (std::size_t t = 0; t < kTaps; ++t) {
        Transpose<G.channels, Filters, Filters, G.channels>(kernel + t * kTapFloats,
                                                            flipped + (kTaps - 1 - t) * kTapFloats);
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
