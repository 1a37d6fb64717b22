// Winograd's minimal filtering F(3x3, 2x2) for the kernel gradient of the 3x3, stride-1, same-padded Conv2D, per SIMD
// target (Highway), in namespace conv_detail. Where window_geometry.hpp's forward_is_winograd(G, Filters) holds,
// conv2d_backward-inl.h's KernelGradient goes through here: the kernel gradient of a 2x2 block of outputs is the 3x3
// correlation of its 4x4 input tile d with its 2x2 dz, which takes 16 products per channel and filter instead of 36.
//
// WinogradKernelGradient<G, Filters, Act, UseBias>(x, y, dy, rows, dkernel, dbias, copy)
//   requires: forward_is_winograd(G, Filters); otherwise as KernelGradient (conv2d_backward-inl.h).
//   ensures:  as KernelGradient, up to rounding: dy holds dz = dy * Act'(y) (ChainPixels, output row by output row,
//             so dbias sums the pixels in order); dkernel = sum over the rows' output pixels of patch^T dz. The sums
//             depend on rows and G alone: the same bits however the caller threads.
//
// Design: by linearity, dkernel[., ., c, f] = Am^T (sum over tiles of (Gm g Gm^T) . (Bm^T d Bm)) Am, with g a tile's
// 2x2 dz, . element-wise, Bm^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 -1 0 1], Gm = [1 0; 1/2 1/2; 1/2 -1/2; 0 1],
// Am^T = [1 1 1 0; 0 1 -1 0; 0 1 1 1]. The sums M [16 positions, channels, Filters] stay in a stack tile of
// kWinogradGradientFloats; where all channels' do not fit, the channels go in passes over the rows (each pass copies
// the band again and transforms the dz again). Per pair of output rows, the 4 input rows in a ring band filled by copy
// (PlainSpanCopy's call); per group of tiles, the transformed inputs [position, tile, channel] and dz [position, tile,
// filter], then per position one product through gemm-inl.h's micro-kernel (rows: channels, depth: the group's
// tiles, summed from zero in registers), added to M; after each pass, Am^T M Am is added to dkernel. A blocked sum:
// rounding grows with the group plus the number of groups, not with the pixel count.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_CONV2D_WINOGRAD_GRADIENT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_CONV2D_WINOGRAD_GRADIENT_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_CONV2D_WINOGRAD_GRADIENT_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_CONV2D_WINOGRAD_GRADIENT_INL_H_
#endif

#include <algorithm>
#include <cstddef>

#include "dsl/activation.hpp"
#include "hwy/highway.h"
#include "runtime/kernels/conv2d_backward-inl.h"
#include "runtime/kernels/conv2d_windows-inl.h"
#include "runtime/kernels/conv2d_winograd-inl.h"
#include "runtime/kernels/gemm-inl.h"
#include "runtime/kernels/simd_columns-inl.h"
#include "runtime/kernels/window_geometry.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace conv_detail {

using dense_detail::ForEachBalancedRowBlock;

inline constexpr std::size_t kWinogradGradientFloats = 2 * conv_band_floats;  // the sums M: 64 KiB
// Channels per pass, and tiles per group: as many as let M and the group's transforms fit their stack tiles.
template <std::size_t Filters>
inline constexpr std::size_t kWinogradPassChannels = std::max<std::size_t>(kWinogradGradientFloats /
                                                                               (kWinogradPositions * Filters),
                                                                           1);
template <window_geometry G, std::size_t Filters>
inline constexpr std::size_t kWinogradGradientGroupTiles = std::clamp<std::size_t>(
    kWinogradTileFloats / (kWinogradPositions * std::max(kWinogradPassChannels<Filters>, Filters)), 1,
    kWinogradRowTiles<G>);

// w[4i + j, t, f] = (Gm g Gm^T)[i, j] for the group's tiles, g the tile's 2x2 dz from dz_row (output row 2 * tr of the
// sample; zeros past the output's last row or column).
template <window_geometry G, std::size_t Filters, std::size_t kGroupTiles>
HWY_INLINE void TransformGradientTiles(const float* HWY_RESTRICT dz_row, bool second_row, std::size_t first_tile,
                                       std::size_t tiles, float* HWY_RESTRICT w) {
    using Vec = hn::Vec<FloatTag>;
    constexpr std::size_t kPositionFloats = kGroupTiles * Filters, kRowFloats = G.out_width() * Filters;
    const Vec half = hn::Set(FloatTag(), 0.5f), zero = hn::Zero(FloatTag());
    for (std::size_t t = 0; t < tiles; ++t) {
        const std::size_t ow = 2 * (first_tile + t);
        const bool second_column = ow + 1 < G.out_width();
        ForEachVector<Filters>([&](std::size_t f, std::size_t count) {
            const float* p = dz_row + ow * Filters + f;
            const Vec g00 = LoadVector(p, count), g01 = second_column ? LoadVector(p + Filters, count) : zero;
            const Vec g10 = second_row ? LoadVector(p + kRowFloats, count) : zero;
            const Vec g11 = second_row && second_column ? LoadVector(p + kRowFloats + Filters, count) : zero;
            // h = Gm g: 4 rows of 2.
            const Vec h[4][2] = {{g00, g01},
                                 {hn::Mul(half, hn::Add(g00, g10)), hn::Mul(half, hn::Add(g01, g11))},
                                 {hn::Mul(half, hn::Sub(g00, g10)), hn::Mul(half, hn::Sub(g01, g11))},
                                 {g10, g11}};
            float* out = w + t * Filters + f;
            for (std::size_t i = 0; i < 4; ++i) {
                StoreVector(h[i][0], out + (4 * i + 0) * kPositionFloats, count);
                StoreVector(hn::Mul(half, hn::Add(h[i][0], h[i][1])), out + (4 * i + 1) * kPositionFloats, count);
                StoreVector(hn::Mul(half, hn::Sub(h[i][0], h[i][1])), out + (4 * i + 2) * kPositionFloats, count);
                StoreVector(h[i][1], out + (4 * i + 3) * kPositionFloats, count);
            }
        });
    }
}

// dkernel[a, b, first_channel + c, f] += (Am^T M Am)[a, b] for the pass's kChannels channels (M [16, kStride,
// Filters]).
template <window_geometry G, std::size_t Filters, std::size_t kChannels, std::size_t kStride>
HWY_INLINE void AddGradientTransform(const float* HWY_RESTRICT m, std::size_t first_channel,
                                     float* HWY_RESTRICT dkernel) {
    using Vec = hn::Vec<FloatTag>;
    constexpr std::size_t kPositionFloats = kStride * Filters, kTapFloats = G.channels * Filters;
    for (std::size_t c = 0; c < kChannels; ++c) {
        ForEachVector<Filters>([&](std::size_t f, std::size_t count) {
            Vec s[3][4];  // s = Am^T M, column by column
            for (std::size_t j = 0; j < 4; ++j) {
                const float* p = m + c * Filters + f + j * kPositionFloats;
                const Vec m0 = LoadVector(p, count), m1 = LoadVector(p + 4 * kPositionFloats, count);
                const Vec m2 = LoadVector(p + 8 * kPositionFloats, count);
                const Vec m3 = LoadVector(p + 12 * kPositionFloats, count);
                s[0][j] = hn::Add(hn::Add(m0, m1), m2);
                s[1][j] = hn::Sub(m1, m2);
                s[2][j] = hn::Add(hn::Add(m1, m2), m3);
            }
            for (std::size_t a = 0; a < 3; ++a) {
                const Vec taps[3] = {hn::Add(hn::Add(s[a][0], s[a][1]), s[a][2]), hn::Sub(s[a][1], s[a][2]),
                                     hn::Add(hn::Add(s[a][1], s[a][2]), s[a][3])};
                for (std::size_t b = 0; b < 3; ++b) {
                    float* out = dkernel + (a * 3 + b) * kTapFloats + (first_channel + c) * Filters + f;
                    StoreVector(hn::Add(LoadVector(out, count), taps[b]), out, count);
                }
            }
        });
    }
}

template <window_geometry G, std::size_t Filters, activation_kind Act, bool UseBias, class Copy>
HWY_INLINE void WinogradKernelGradient(const float* HWY_RESTRICT x, const float* HWY_RESTRICT y, float* HWY_RESTRICT dy,
                                       std::size_t rows, float* HWY_RESTRICT dkernel, float* HWY_RESTRICT dbias,
                                       const Copy& copy) {
    static_assert(forward_is_winograd(G, Filters), "WinogradKernelGradient: not a Winograd geometry");
    constexpr std::size_t C = G.channels, kTiles = kWinogradRowTiles<G>,
                          kPass = std::min(kWinogradPassChannels<Filters>, C);
    constexpr std::size_t kGroup = kWinogradGradientGroupTiles<G, Filters>;
    static_assert(kGroup * kWinogradPositions * std::max(kPass, Filters) <= kWinogradTileFloats, "a group fits");
    static_assert(kWinogradPositions * kPass * Filters <= kWinogradGradientFloats, "M fits");
    HWY_ALIGN float band[4 * kWinogradBandRowFloats<G>];
    HWY_ALIGN float v[kWinogradTileFloats];
    HWY_ALIGN float w[kWinogradTileFloats];
    HWY_ALIGN float m[kWinogradGradientFloats];
    std::fill(dkernel, dkernel + kPatchFloats<G> * Filters, 0.0f);
    if constexpr (UseBias) std::fill(dbias, dbias + Filters, 0.0f);
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t oh = 0; oh < G.out_height(); ++oh) {
            ChainPixels<Filters, Act, UseBias>(y, dy, (r * G.out_height() + oh) * G.out_width() * Filters,
                                               G.out_width(), dbias);
        }
    }
    ForEachUnitChunk<C, kPass>([&](std::size_t first_channel, auto pass_channels) {
        constexpr std::size_t kChannels = decltype(pass_channels)::value;
        std::fill(m, m + kWinogradPositions * kPass * Filters, 0.0f);
        for (std::size_t r = 0; r < rows; ++r) {
            const float* sample = x + r * G.input_size();
            const float* dz = dy + r * kOutputPixels<G> * Filters;
            for (std::size_t tr = 0; 2 * tr < G.out_height(); ++tr) {
                const float* band_rows[4];
                FillTileRowBand<G>(sample, tr, band, band_rows, copy);
                const float* dz_row = dz + 2 * tr * G.out_width() * Filters;
                const bool second_row = 2 * tr + 1 < G.out_height();
                for (std::size_t first_tile = 0; first_tile < kTiles; first_tile += kGroup) {
                    const std::size_t tiles = std::min(kGroup, kTiles - first_tile);
                    TransformInputTiles<G, kChannels, kPass, kGroup, /*kGradient=*/true>(band_rows, first_channel,
                                                                                         first_tile, tiles, v);
                    TransformGradientTiles<G, Filters, kGroup>(dz_row, second_row, first_tile, tiles, w);
                    for (std::size_t position = 0; position < kWinogradPositions; ++position) {
                        const float* a = v + position * kGroup * kPass;
                        const float* b = w + position * kGroup * Filters;
                        float* sums = m + position * kPass * Filters;
                        ForEachColumnBlock<Filters, kMaxBlockVectors>([&]<class Block>(std::size_t first_filter) {
                            const Block zeros = ZeroBlock<Block>();
                            ForEachBalancedRowBlock<kChannels, RowsPerBlock(Block::kCount)>(
                                [&]<std::size_t kRows>(std::size_t first_row) {
                                    Block acc[kRows];
                                    vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) {
                                        acc[i] = zeros;
                                    });
                                    MultiplyAccumulate</*kARowStride=*/1, /*kADepthStride=*/kPass,
                                                       /*kBRowStride=*/Filters, /*kBPadded=*/false>(
                                        a + first_row, b + first_filter, tiles, acc);
                                    AddRows<Filters>(acc, sums + first_row * Filters + first_filter);
                                });
                        });
                    }
                }
            }
        }
        AddGradientTransform<G, Filters, kChannels, kPass>(m, first_channel, dkernel);
    });
}

// The kernel gradient as Conv2dBackward computes it: WinogradKernelGradient where forward_is_winograd(G, Filters), else
// DirectKernelGradient (conv2d_backward-inl.h).
template <window_geometry G, std::size_t Filters, activation_kind Act, bool UseBias, class Copy = PlainSpanCopy>
HWY_INLINE void KernelGradient(const float* HWY_RESTRICT x, const float* HWY_RESTRICT y, float* HWY_RESTRICT dy,
                               std::size_t rows, float* HWY_RESTRICT dkernel, float* HWY_RESTRICT dbias,
                               const Copy& copy = {}) {
    if constexpr (forward_is_winograd(G, Filters)) {
        WinogradKernelGradient<G, Filters, Act, UseBias>(x, y, dy, rows, dkernel, dbias, copy);
    } else {
        DirectKernelGradient<G, Filters, Act, UseBias>(x, y, dy, rows, dkernel, dbias, copy);
    }
}

}  // namespace conv_detail

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_CONV2D_WINOGRAD_GRADIENT_INL_H_
