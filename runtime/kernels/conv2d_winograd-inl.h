// Winograd's minimal filtering F(2x2, 3x3) for the 3x3, stride-1, same-padded Conv2D forward, per SIMD target
// (Highway), in namespace conv_detail. Where window_geometry.hpp's forward_is_winograd(G, Filters) holds, the training
// forwards that take a BN's statistics (conv2d_bn_moments-inl.h) and the input gradient as a forward of dz
// (conv2d-inl.h) go through here instead of the direct ForwardSample: each 2x2 block of outputs takes 16 products per
// channel and filter instead of 36.
//
// WinogradKernel<G, Filters>(kernel, transformed)
//   requires: forward_is_winograd(G, Filters); kernel [3, 3, G.channels, Filters] (Keras's layout); transformed
//             [kWinogradPositions, G.channels, Filters], overlapping it not.
//   ensures:  transformed[4i + j, c, f] = (Gm k Gm^T)[i, j] for k = kernel[:, :, c, f], Gm = [1 0 0; 1/2 1/2 1/2;
//             1/2 -1/2 1/2; 0 0 1]: the kernel of the forward below, formed once per step by the generated training.
// WinogradFlippedKernel<G, Filters>(kernel, transformed)
//   requires: forward_is_winograd(input_gradient_geometry(G, Filters), G.channels); kernel as above; transformed
//             [kWinogradPositions, Filters, G.channels], overlapping it not.
//   ensures:  transformed is WinogradKernel's output for the flipped kernel (conv2d_backward-inl.h's FlipKernel) over
//             the input gradient's geometry, up to rounding.
// WinogradForwardSample<G, Filters, UseBias>(x_sample, transformed, bias, y_sample, after_row, copy)
//   requires: as ForwardSample (conv2d-inl.h), with transformed WinogradKernel's output in place of the kernel.
//   ensures:  y_sample = conv(x_sample) + bias as ForwardSample's up to rounding; after_row(oh) runs once output row
//             oh is written, rows in order. Each output's value depends on the sample alone (bit-identical however
//             samples are split into calls or threads).
//
// Design: output rows go in pairs (a tile row); the 4 input rows they read are a ring in a stack band filled by copy
// (PlainSpanCopy's call: a copy that normalizes, NormalizingSpanCopy, normalizes each input row once), 2 new rows
// per tile row. Its tiles go in groups whose transformed inputs and products fit two stack tiles (kWinogradTileFloats
// each): per group, (1) every 4x4 input tile d becomes Bm^T d Bm (Bm^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]),
// stored [position, tile, channel]; (2) per position, the product of those rows with the transformed kernel's
// [channel, filter] slice, through gemm-inl.h's micro-kernel (depth: the channels, summed from zero in registers);
// (3) each tile's 16 products m become its 2x2 outputs Am^T m Am + bias (Am^T = [1 1 1 0; 0 1 -1 -1]), written
// to y. The rounding differs from the direct sum's: each product is a dot product of C terms, then at most 9 are
// added; the transforms add and subtract inputs that are close (tests/runtime/conv_kernels bound it).
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_CONV2D_WINOGRAD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_CONV2D_WINOGRAD_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_CONV2D_WINOGRAD_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_CONV2D_WINOGRAD_INL_H_
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

inline constexpr std::size_t kWinogradPositions = winograd_positions;  // a 4x4 input tile per 2x2 output tile
inline constexpr std::size_t kWinogradTileFloats = conv_band_floats;   // each of the two stack tiles: 32 KiB
// Tiles per tile row, and per group: as many as let a group's transformed inputs and products fit their stack tiles.
template <window_geometry G>
inline constexpr std::size_t kWinogradRowTiles = (G.out_width() + 1) / 2;
template <window_geometry G, std::size_t Filters>
inline constexpr std::size_t kWinogradGroupTiles = std::clamp<std::size_t>(
    kWinogradTileFloats / (kWinogradPositions * std::max(G.channels, Filters)), 1, kWinogradRowTiles<G>);

// Floats of one band row: the tiles' input columns, -1 .. 2 * tiles, zero-padded.
template <window_geometry G>
inline constexpr std::size_t kWinogradBandRowFloats = (2 * kWinogradRowTiles<G> + 2) * G.channels;

// rows[i] = input row 2 tr - 1 + i of the sample, zero-padded, in the band: a ring of 4 rows of
// kWinogradBandRowFloats (input row ih in slot (ih + 1) mod 4) filled by copy (PlainSpanCopy's call). Tile row 0
// copies all 4; each later one the 2 it adds (the other 2 were the previous tile row's last two).
template <window_geometry G, class Copy>
HWY_INLINE void FillTileRowBand(const float* HWY_RESTRICT x_sample, std::size_t tr, float* HWY_RESTRICT band,
                                const float* (&rows)[4], const Copy& copy) {
    constexpr ptrdiff_t kRowFloats = static_cast<ptrdiff_t>(G.width * G.channels);
    for (std::size_t i = 0; i < 4; ++i) {
        const ptrdiff_t ih = static_cast<ptrdiff_t>(2 * tr + i) - 1;
        float* row = band + static_cast<std::size_t>(ih + 1) % 4 * kWinogradBandRowFloats<G>;
        rows[i] = row;
        if (tr > 0 && i < 2) continue;
        const bool inside = ih >= 0 && ih < static_cast<ptrdiff_t>(G.height);
        copy(inside ? x_sample + ih * kRowFloats : x_sample, -static_cast<ptrdiff_t>(G.channels),
             kWinogradBandRowFloats<G>, inside ? kRowFloats : 0, row);
    }
}

// Calls body(first, count) for the vectors covering kCount floats: count == kLanes but for a last, partial one.
template <std::size_t kCount, class Body>
HWY_INLINE void ForEachVector(const Body& body) {
    for (std::size_t first = 0; first < kCount; first += kLanes) body(first, std::min(kLanes, kCount - first));
}
HWY_INLINE hn::Vec<FloatTag> LoadVector(const float* HWY_RESTRICT p, std::size_t count) {
    return count == kLanes ? hn::LoadU(FloatTag(), p) : vector_helpers::LoadFirstN(FloatTag(), p, count);
}
HWY_INLINE void StoreVector(hn::Vec<FloatTag> v, float* HWY_RESTRICT p, std::size_t count) {
    if (count == kLanes) {
        hn::StoreU(v, FloatTag(), p);
    } else {
        vector_helpers::StoreFirstN(v, FloatTag(), p, count);
    }
}

// out[4i + j][f] = (Gm k Gm^T)[i, j] for k = kernel[:, :, c, f] (kTapFloats floats between taps), f < Filters.
template <std::size_t Filters, std::size_t kTapFloats>
HWY_INLINE void TransformKernelChannel(const float* HWY_RESTRICT kernel_c, float* HWY_RESTRICT out) {
    using Vec = hn::Vec<FloatTag>;
    const Vec half = hn::Set(FloatTag(), 0.5f);
    const auto expand = [&](const Vec(&v)[3], Vec(&gm_v)[4]) {  // the rows of Gm applied to three values
        gm_v[0] = v[0];
        gm_v[1] = hn::Mul(half, hn::Add(hn::Add(v[0], v[1]), v[2]));
        gm_v[2] = hn::Mul(half, hn::Add(hn::Sub(v[0], v[1]), v[2]));
        gm_v[3] = v[2];
    };
    ForEachVector<Filters>([&](std::size_t f, std::size_t count) {
        Vec columns[3][4];  // columns[b] = Gm k[:, b]
        for (std::size_t b = 0; b < 3; ++b) {
            Vec taps[3];
            for (std::size_t a = 0; a < 3; ++a) taps[a] = LoadVector(kernel_c + (a * 3 + b) * kTapFloats + f, count);
            expand(taps, columns[b]);
        }
        for (std::size_t i = 0; i < 4; ++i) {
            const Vec row[3] = {columns[0][i], columns[1][i], columns[2][i]};
            Vec transformed_row[4];
            expand(row, transformed_row);
            for (std::size_t j = 0; j < 4; ++j) StoreVector(transformed_row[j], out + (4 * i + j) * Filters + f, count);
        }
    });
}

template <window_geometry G, std::size_t Filters>
HWY_INLINE void WinogradKernel(const float* HWY_RESTRICT kernel, float* HWY_RESTRICT transformed) {
    static_assert(forward_is_winograd(G, Filters), "WinogradKernel: not a Winograd geometry");
    constexpr std::size_t kTapFloats = G.channels * Filters;
    HWY_ALIGN float channel[kWinogradPositions * Filters];
    for (std::size_t c = 0; c < G.channels; ++c) {
        TransformKernelChannel<Filters, kTapFloats>(kernel + c * Filters, channel);
        for (std::size_t position = 0; position < kWinogradPositions; ++position) {
            CopyFloats(channel + position * Filters, Filters, transformed + position * kTapFloats + c * Filters);
        }
    }
}

// The input gradient's kernel as a Winograd forward of dz (conv2d_backward-inl.h's FlipKernel, then WinogradKernel
// over the dual geometry), straight from the kernel: flipping both spatial axes of k is Jk J (J the 3x3 exchange),
// and Gm J = P Gm with P exchanging rows 0 and 3, so the flipped kernel's transform is this kernel's with positions
// i, j mapped by 0 <-> 3 and the [channel, filter] slice transposed (the sums of three taps run in the other order).
template <window_geometry G, std::size_t Filters>
HWY_INLINE void WinogradFlippedKernel(const float* HWY_RESTRICT kernel, float* HWY_RESTRICT transformed) {
    constexpr std::size_t kTapFloats = G.channels * Filters;
    constexpr std::size_t kExchanged[4] = {3, 1, 2, 0};
    HWY_ALIGN float channel[kWinogradPositions * Filters];
    for (std::size_t c = 0; c < G.channels; ++c) {
        TransformKernelChannel<Filters, kTapFloats>(kernel + c * Filters, channel);
        for (std::size_t i = 0; i < 4; ++i) {
            for (std::size_t j = 0; j < 4; ++j) {
                const float* from = channel + (4 * i + j) * Filters;
                float* to = transformed + (4 * kExchanged[i] + kExchanged[j]) * kTapFloats + c;
                for (std::size_t f = 0; f < Filters; ++f) to[f * G.channels] = from[f];
            }
        }
    }
}

// v[4i + j, t, c] = (Bm^T d Bm)[i, j] for the group's tiles t from first_tile and kChannels channels c from
// first_channel (kStride floats between tiles): d the tile's 4x4 input values (band rows rows[0..3], columns
// 2 * tile .. 2 * tile + 3 of the band, whose column 0 is input column -1). Bm^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0;
// 0 1 0 -1] for the forward's F(2x2, 3x3); the kernel gradient's F(3x3, 2x2) (kGradient) negates the last row.
template <window_geometry G, std::size_t kChannels, std::size_t kStride, std::size_t kGroupTiles, bool kGradient>
HWY_INLINE void TransformInputTiles(const float* const (&rows)[4], std::size_t first_channel, std::size_t first_tile,
                                    std::size_t tiles, float* HWY_RESTRICT v) {
    using Vec = hn::Vec<FloatTag>;
    constexpr std::size_t C = G.channels, kPositionFloats = kGroupTiles * kStride;
    // The last row of Bm^T applied to (b1, b3): b1 - b3, or b3 - b1 for the kernel gradient.
    const auto last = [](Vec b1, Vec b3) { return kGradient ? hn::Sub(b3, b1) : hn::Sub(b1, b3); };
    for (std::size_t t = 0; t < tiles; ++t) {
        const std::size_t column = 2 * (first_tile + t) * C + first_channel;
        ForEachVector<kChannels>([&](std::size_t c, std::size_t count) {
            Vec e[4][4];  // e = Bm^T d, row by row
            Vec d[4][4];
            for (std::size_t i = 0; i < 4; ++i) {
                for (std::size_t j = 0; j < 4; ++j) d[i][j] = LoadVector(rows[i] + column + j * C + c, count);
            }
            for (std::size_t j = 0; j < 4; ++j) {
                e[0][j] = hn::Sub(d[0][j], d[2][j]);
                e[1][j] = hn::Add(d[1][j], d[2][j]);
                e[2][j] = hn::Sub(d[2][j], d[1][j]);
                e[3][j] = last(d[1][j], d[3][j]);
            }
            float* out = v + t * kStride + c;
            for (std::size_t i = 0; i < 4; ++i) {
                StoreVector(hn::Sub(e[i][0], e[i][2]), out + (4 * i + 0) * kPositionFloats, count);
                StoreVector(hn::Add(e[i][1], e[i][2]), out + (4 * i + 1) * kPositionFloats, count);
                StoreVector(hn::Sub(e[i][2], e[i][1]), out + (4 * i + 2) * kPositionFloats, count);
                StoreVector(last(e[i][1], e[i][3]), out + (4 * i + 3) * kPositionFloats, count);
            }
        });
    }
}

// The 2x2 outputs of the group's tiles from their products m[position, t, f]: Am^T m Am + bias, written to the rows
// of y that exist (an odd height or width leaves out the tiles' last row or column).
template <window_geometry G, std::size_t Filters, std::size_t kGroupTiles, bool UseBias>
HWY_INLINE void TransformOutputTiles(const float* HWY_RESTRICT m, std::size_t first_tile, std::size_t tiles,
                                     [[maybe_unused]] const float* HWY_RESTRICT bias, float* HWY_RESTRICT y_row,
                                     bool second_row) {
    using Vec = hn::Vec<FloatTag>;
    constexpr std::size_t kPositionFloats = kGroupTiles * Filters, kRowFloats = G.out_width() * Filters;
    for (std::size_t t = 0; t < tiles; ++t) {
        const std::size_t ow = 2 * (first_tile + t);
        const bool second_column = ow + 1 < G.out_width();
        ForEachVector<Filters>([&](std::size_t f, std::size_t count) {
            Vec s[2][4];  // s = Am^T m, column by column
            for (std::size_t j = 0; j < 4; ++j) {
                const float* p = m + t * Filters + f + j * kPositionFloats;
                const Vec m0 = LoadVector(p, count), m1 = LoadVector(p + 4 * kPositionFloats, count);
                const Vec m2 = LoadVector(p + 8 * kPositionFloats, count);
                const Vec m3 = LoadVector(p + 12 * kPositionFloats, count);
                s[0][j] = hn::Add(hn::Add(m0, m1), m2);
                s[1][j] = hn::Sub(hn::Sub(m1, m2), m3);
            }
            const Vec b = UseBias ? LoadVector(bias + f, count) : hn::Zero(FloatTag());
            for (std::size_t i = 0; i < 2; ++i) {
                if (i == 1 && !second_row) break;
                float* out = y_row + i * kRowFloats + ow * Filters + f;
                StoreVector(hn::Add(b, hn::Add(hn::Add(s[i][0], s[i][1]), s[i][2])), out, count);
                if (second_column)
                    StoreVector(hn::Add(b, hn::Sub(hn::Sub(s[i][1], s[i][2]), s[i][3])), out + Filters, count);
            }
        });
    }
}

template <window_geometry G, std::size_t Filters, bool UseBias, class AfterRow, class Copy>
HWY_INLINE void WinogradForwardSample(const float* HWY_RESTRICT x_sample, const float* HWY_RESTRICT transformed,
                                      [[maybe_unused]] const float* HWY_RESTRICT bias, float* HWY_RESTRICT y_sample,
                                      const AfterRow& after_row, const Copy& copy) {
    static_assert(forward_is_winograd(G, Filters), "WinogradForwardSample: not a Winograd geometry");
    constexpr std::size_t C = G.channels, kTiles = kWinogradRowTiles<G>;
    constexpr std::size_t kGroup = kWinogradGroupTiles<G, Filters>;
    static_assert(kGroup * kWinogradPositions * std::max(C, Filters) <= kWinogradTileFloats, "a group fits its tiles");
    HWY_ALIGN float band[4 * kWinogradBandRowFloats<G>];
    HWY_ALIGN float v[kWinogradTileFloats];
    HWY_ALIGN float m[kWinogradTileFloats];
    for (std::size_t tr = 0; 2 * tr < G.out_height(); ++tr) {
        const float* rows[4];
        FillTileRowBand<G>(x_sample, tr, band, rows, copy);
        float* y_row = y_sample + 2 * tr * G.out_width() * Filters;
        const bool second_row = 2 * tr + 1 < G.out_height();
        for (std::size_t first_tile = 0; first_tile < kTiles; first_tile += kGroup) {
            const std::size_t tiles = std::min(kGroup, kTiles - first_tile);
            TransformInputTiles<G, C, C, kGroup, /*kGradient=*/false>(rows, 0, first_tile, tiles, v);
            for (std::size_t position = 0; position < kWinogradPositions; ++position) {
                const float* a = v + position * kGroup * C;
                const float* b = transformed + position * C * Filters;
                float* out = m + position * kGroup * Filters;
                ForEachColumnBlock<Filters, dense_detail::kMaxBlockVectors>([&]<class Block>(std::size_t first_filter) {
                    const auto block_rows = [&]<std::size_t kRows>(std::size_t first_row) {
                        Block acc[kRows];
                        const Block zeros = dense_detail::ZeroBlock<Block>();
                        vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) { acc[i] = zeros; });
                        dense_detail::MultiplyAccumulate</*kARowStride=*/C, /*kADepthStride=*/1,
                                                         /*kBRowStride=*/Filters,
                                                         /*kBPadded=*/false>(a + first_row * C, b + first_filter, C,
                                                                             acc);
                        dense_detail::StoreRows<Filters>(acc, out + first_row * Filters + first_filter);
                    };
                    if (tiles == kGroup) {
                        dense_detail::ForEachBalancedRowBlock<kGroup, dense_detail::RowsPerBlock(Block::kCount)>(
                            block_rows);
                    } else {
                        dense_detail::ForEachRowBlock<dense_detail::RowsPerBlock(Block::kCount)>(tiles, block_rows);
                    }
                });
            }
            TransformOutputTiles<G, Filters, kGroup, UseBias>(m, first_tile, tiles, bias, y_row, second_row);
        }
        after_row(2 * tr);
        if (second_row) after_row(2 * tr + 1);
    }
}

}  // namespace conv_detail

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_CONV2D_WINOGRAD_INL_H_
