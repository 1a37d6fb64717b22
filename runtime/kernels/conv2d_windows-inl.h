// The window bookkeeping the Conv2D kernels share (conv2d-inl.h, conv2d_backward-inl.h), per SIMD target
// (Highway), in namespace conv_detail: copying spans of an NHWC row with zeros for the padding, adding spans back,
// and the per-geometry constants (patch depth, stack tile sizes).
//
// CopyRowSpan(row, first, count, valid, dst): dst[j] = row[first + j] when 0 <= first + j < valid, else 0 (valid = 0
//   for a padding row: then row is not read). Offsets are in floats, so a span may start inside a pixel.
// CopyRowSpanWith(first, count, valid, dst, copy_valid): the same zeros, with copy_valid writing the values inside the
//   row (a band copy that transforms them as it reads: conv2d_bn_input-inl.h).
// AddRowSpan(src, count, row, first, valid): row[first + j] += src[j] for the j with 0 <= first + j < valid only.
// Neither touches memory outside [row, row + valid) and [dst or src, + count).
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_CONV2D_WINDOWS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_CONV2D_WINDOWS_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_CONV2D_WINDOWS_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_CONV2D_WINDOWS_INL_H_
#endif

#include <algorithm>
#include <cstddef>

#include "hwy/highway.h"
#include "runtime/kernels/gemm-inl.h"
#include "runtime/kernels/simd_columns-inl.h"
#include "runtime/kernels/window_geometry.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace conv_detail {

using std::ptrdiff_t;
using vector_helpers::FloatTag;
using vector_helpers::kLanes;

// Floats of one patch (one output pixel's receptive field, the depth of the products): window_h x window_w x C.
template <window_geometry G>
inline constexpr std::size_t kPatchFloats = G.window_h* G.window_w* G.channels;
// Floats of one window row (window_w pixels), contiguous both in the input and in a patch.
template <window_geometry G>
inline constexpr std::size_t kWindowRowFloats = G.window_w* G.channels;
template <window_geometry G>
inline constexpr std::size_t kOutputPixels = G.out_height() * G.out_width();

// Stack tiles: the bands of input rows of the forward and the kernel gradient (32 KiB, L1), the transposed kernel
// slice of dx (16 KiB).
inline constexpr std::size_t kBandFloats = conv_band_floats;
inline constexpr std::size_t kKernelTileFloats = 4096;

// Output pixels of one band segment (the forward's and the kernel gradient's): the most (up to a whole output row)
// whose band of window_h input rows fits in kBandFloats.
template <window_geometry G>
constexpr std::size_t SegmentPixels() {
    std::size_t pixels = G.out_width();
    while (pixels > 1 && G.window_h * ((pixels - 1) * G.stride_w + G.window_w) * G.channels > kBandFloats) --pixels;
    return pixels;
}

template <window_geometry G>
constexpr void CheckGeometry() {
    static_assert(G.height >= 1 && G.width >= 1 && G.channels >= 1 && G.window_h >= 1 && G.window_w >= 1 &&
                      G.stride_h >= 1 && G.stride_w >= 1,
                  "Conv2D: every extent, window and stride must be positive");
    static_assert(G.same_padding || (G.window_h <= G.height && G.window_w <= G.width),
                  "Conv2D: under valid padding the window must fit in the input");
    static_assert(kPatchFloats<G> <= kBandFloats,
                  "Conv2D: window_h * window_w * channels above 8192 floats would overflow the 32 KiB stack tiles");
}

// dst[i] = src[i] (or 0 when src is null) for i < count, inline: the spans are a few floats to a few hundred, where
// a call to memmove or memset per span would cost more than the copy (KeepInRegister stops GCC from turning the loop
// into one: rep movs took a fifth of the kernel gradient's time).
HWY_INLINE void CopyFloats(const float* HWY_RESTRICT src, std::size_t count, float* HWY_RESTRICT dst) {
    const FloatTag d;
    std::size_t i = 0;
    for (; i + kLanes <= count; i += kLanes) {
        hn::Vec<FloatTag> v = src ? hn::LoadU(d, src + i) : hn::Zero(d);
        vector_helpers::KeepInRegister(v);
        hn::StoreU(v, d, dst + i);
    }
    // The tail, under a vector (the bound kLanes tells GCC so: it warns of overflow otherwise).
    for (std::size_t j = 0; j < kLanes && i < count; ++j, ++i) dst[i] = src ? src[i] : 0.0f;
}

// dst[j] = 0 for the j with first + j outside [0, valid); copy_valid(lo, hi, dst + (lo - first)) writes the others,
// the values of row offsets [lo, hi) (called only when that range is not empty).
template <class CopyValid>
HWY_INLINE void CopyRowSpanWith(ptrdiff_t first, std::size_t count, ptrdiff_t valid, float* HWY_RESTRICT dst,
                                const CopyValid& copy_valid) {
    const ptrdiff_t end = first + static_cast<ptrdiff_t>(count);
    const ptrdiff_t lo = std::max<ptrdiff_t>(first, 0), hi = std::min(end, valid);
    if (lo >= hi) {
        CopyFloats(nullptr, count, dst);
        return;
    }
    if (lo > first) CopyFloats(nullptr, static_cast<std::size_t>(lo - first), dst);
    copy_valid(static_cast<std::size_t>(lo), static_cast<std::size_t>(hi), dst + (lo - first));
    if (end > hi) CopyFloats(nullptr, static_cast<std::size_t>(end - hi), dst + (hi - first));
}

HWY_INLINE void CopyRowSpan(const float* HWY_RESTRICT row, ptrdiff_t first, std::size_t count, ptrdiff_t valid,
                            float* HWY_RESTRICT dst) {
    CopyRowSpanWith(first, count, valid, dst, [row](std::size_t lo, std::size_t hi, float* HWY_RESTRICT out) {
        CopyFloats(row + lo, hi - lo, out);
    });
}

// The band copy of the plain kernels: the input values as they are (CopyRowSpan). A kernel that applies the layer
// before it while it reads (conv2d_bn_input-inl.h) passes its own copy with the same call.
struct PlainSpanCopy {
    HWY_INLINE void operator()(const float* HWY_RESTRICT row, ptrdiff_t first, std::size_t count, ptrdiff_t valid,
                               float* HWY_RESTRICT dst) const {
        CopyRowSpan(row, first, count, valid, dst);
    }
};

HWY_INLINE void AddRowSpan(const float* HWY_RESTRICT src, std::size_t count, float* HWY_RESTRICT row, ptrdiff_t first,
                           ptrdiff_t valid) {
    const ptrdiff_t lo = std::max<ptrdiff_t>(first, 0), hi = std::min(first + static_cast<ptrdiff_t>(count), valid);
    if (lo >= hi) return;
    const FloatTag d;
    const float* s = src + (lo - first);
    float* out = row + lo;
    const std::size_t n = static_cast<std::size_t>(hi - lo);
    std::size_t i = 0;
    for (; i + kLanes <= n; i += kLanes) hn::StoreU(hn::Add(hn::LoadU(d, out + i), hn::LoadU(d, s + i)), d, out + i);
    for (std::size_t j = 0; j < kLanes && i < n; ++j, ++i) out[i] += s[i];
}

// dx_sample[patch position of column k of output pixel `pixel`] += src[k - first_column] for the count patch columns
// from first_column: the columns of one window row are contiguous in the input, so they are added as one span.
template <window_geometry G>
HWY_INLINE void AddPatchColumns(const float* HWY_RESTRICT src, std::size_t pixel, std::size_t first_column,
                                std::size_t count, float* HWY_RESTRICT dx_sample) {
    constexpr ptrdiff_t kRowFloats = static_cast<ptrdiff_t>(G.width * G.channels);
    constexpr std::size_t kRun = kWindowRowFloats<G>;
    const std::size_t oh = pixel / G.out_width(), ow = pixel % G.out_width();
    const ptrdiff_t first_ih = static_cast<ptrdiff_t>(oh * G.stride_h) - static_cast<ptrdiff_t>(G.pad_top());
    const ptrdiff_t first = (static_cast<ptrdiff_t>(ow * G.stride_w) - static_cast<ptrdiff_t>(G.pad_left())) *
                            static_cast<ptrdiff_t>(G.channels);
    const std::size_t end_column = first_column + count;
    for (std::size_t kh = first_column / kRun; kh * kRun < end_column; ++kh) {
        const ptrdiff_t ih = first_ih + static_cast<ptrdiff_t>(kh);
        if (ih < 0 || ih >= static_cast<ptrdiff_t>(G.height)) continue;
        const std::size_t begin = std::max(first_column, kh * kRun), end = std::min(end_column, (kh + 1) * kRun);
        AddRowSpan(src + (begin - first_column), end - begin, dx_sample + ih * kRowFloats,
                   first + static_cast<ptrdiff_t>(begin - kh * kRun), kRowFloats);
    }
}

}  // namespace conv_detail

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_CONV2D_WINDOWS_INL_H_
