// Pooling over the height and width of NHWC samples (Keras MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D),
// forward and backward, per SIMD target (Highway).
//
// MaxPool2dForward<G>(x, rows, y)            AveragePool2dForward<G>(x, rows, y)
// MaxPool2dBackward<G>(x, y, dy, rows, dx)   AveragePool2dBackward<G>(dy, rows, dx)
//   requires: G satisfies window_geometry's requires (window_geometry.hpp); x, dx [rows, G.height, G.width,
//             G.channels]; y, dy [rows, G.out_height(), G.out_width(), G.channels]; row-major float32, any alignment;
//             outputs overlap no input; rows may be 0 (nothing is read or written).
//   ensures:  window (i, j) covers the input rows i * stride_h - pad_top + [0, window_h) and the columns
//             j * stride_w - pad_left + [0, window_w); only its positions inside the input take part (padding never
//             wins a max and is not counted in a mean, as in TensorFlow); every window holds at least one of them.
//             Max:     y = the max over the window's positions. Backward: each dy goes to the window's first position
//                      in row-major order whose x equals y (TF's MaxPoolGrad, PyTorch's argmax), recomputed from x and
//                      y; dx = the sum of what reaches each position, 0 where nothing does.
//             Average: y = (sum over the window's positions in row-major order) / count, count = the number of those
//                      positions. Backward: dx = the sum over the windows covering a position of dy / count.
//             dx is overwritten; overlapping windows (stride < window) add up in window order (row-major over i, j).
// GlobalAveragePool2dForward<H, W, C>(x, rows, y):   y[r, c] = (sum over (h, w) in row-major order of x[r, h, w, c])
//                                                               / (H W)
// GlobalAveragePool2dBackward<H, W, C>(dy, rows, dx): dx[r, h, w, c] = dy[r, c] / (H W)
//   requires: x, dx [rows, H, W, C]; y, dy [rows, C]; otherwise as above.
// Each sample's outputs depend on that sample alone, computed by the same float operations in the same order whatever
// the split of rows into calls (the same bits), and lane by lane alike on every SIMD target (the same bits too, but for
// NaN inputs and the sign of a zero max). No heap allocation; nothing is read or written outside the arrays: a last
// partial vector of channels goes through vector_helpers::LoadFirstN / StoreFirstN.
//
// Design: vectors run along channels, contiguous in NHWC. Per output position the window is clipped to the input
// once (scalar bounds), then each channel vector walks the clipped window. Backward zeroes a sample's dx and adds each
// window's share into it, or, where the windows tile the input, writes each position once; max pool's routing keeps a
// per-lane "already routed" mask and stops once every lane has one (where they tile, it visits every position). The
// max pool reads its values through a loader (pooling_detail::PlainValues here), so that pooling_bn_input-inl.h runs
// the same code on values it normalizes as it reads them.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_POOLING_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_POOLING_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_POOLING_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_POOLING_INL_H_
#endif

#include <algorithm>
#include <cstddef>

#include "hwy/highway.h"
#include "runtime/kernels/simd_columns-inl.h"  // vector_helpers: FloatTag, kLanes, LoadFirstN, StoreFirstN
#include "runtime/kernels/window_geometry.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace pooling_detail {

using vector_helpers::FloatTag;
using vector_helpers::kLanes;
using vector_helpers::LoadFirstN;
using vector_helpers::StoreFirstN;

template <window_geometry G>
constexpr void CheckGeometry() {
    static_assert(G.height >= 1 && G.width >= 1 && G.channels >= 1, "pooling: every extent must be at least 1");
    static_assert(G.window_h >= 1 && G.window_w >= 1 && G.stride_h >= 1 && G.stride_w >= 1,
                  "pooling: windows and strides must be at least 1");
    static_assert(G.same_padding || (G.window_h <= G.height && G.window_w <= G.width),
                  "pooling: under valid padding the window must fit in the input");
    // TensorFlow's rule puts less than a window of padding before the input: every window reaches inside it.
    static_assert(G.pad_top() < G.window_h && G.pad_left() < G.window_w, "pooling: a window lies in the padding");
}

template <window_geometry G>
inline constexpr std::size_t kOutputSize = G.out_height() * G.out_width() * G.channels;  // floats per sample
template <window_geometry G>
inline constexpr std::size_t kOutputRowFloats = G.out_width() * G.channels;

// Whether the windows tile the input (2x2 windows with stride 2 on an even map, ...): every position then lies in
// exactly one window, so backward writes each dx value once, as 0 + its share, instead of zeroing dx and adding.
template <window_geometry G>
inline constexpr bool kWindowsTile = G.stride_h == G.window_h&& G.stride_w == G.window_w&& G.out_height() * G.window_h
                                     == G.height&& G.out_width() * G.window_w == G.width;

// The positions [begin, end) of the input that window `index` covers along one axis.
struct Span {
    std::size_t begin, end;
    constexpr std::size_t size() const { return end - begin; }
};

constexpr Span Clip(std::size_t index, std::size_t stride, std::size_t window, std::size_t pad, std::size_t extent) {
    const std::size_t start = index * stride;  // in padded coordinates; pad < window, so start + window > pad
    return {start > pad ? start - pad : 0, std::min(start + window - pad, extent)};
}

// Calls body(rows, columns, out) for each output position of a sample in row-major order: the window clipped to the
// input, and the offset of the position's channels in the sample's output.
template <window_geometry G, class Body>
HWY_INLINE void ForEachWindow(const Body& body) {
    for (std::size_t i = 0; i < G.out_height(); ++i) {
        const Span rows = Clip(i, G.stride_h, G.window_h, G.pad_top(), G.height);
        for (std::size_t j = 0; j < G.out_width(); ++j) {
            body(rows, Clip(j, G.stride_w, G.window_w, G.pad_left(), G.width), (i * G.out_width() + j) * G.channels);
        }
    }
}

// Asks the cache for the input rows that output row out_row + 1 of a sample reads, whole (none after the last
// output row): the windows read two or more input rows at a time, which the hardware prefetchers do not run ahead of.
template <window_geometry G>
HWY_INLINE void PrefetchNextWindowRows(const float* HWY_RESTRICT sample, std::size_t out_row) {
    constexpr std::size_t kRowFloats = G.width * G.channels;
    if (out_row + 1 >= G.out_height()) return;
    const Span rows = Clip(out_row + 1, G.stride_h, G.window_h, G.pad_top(), G.height);
    vector_helpers::PrefetchFloats(sample + rows.begin * kRowFloats, (rows.end - rows.begin) * kRowFloats);
}

// Calls visit(offset) for the positions of a clipped window in row-major order, offset = the position's first channel
// in the sample; stops early when visit returns false.
template <window_geometry G, class Visit>
HWY_INLINE void ForEachPosition(Span rows, Span columns, const Visit& visit) {
    for (std::size_t h = rows.begin; h < rows.end; ++h) {
        for (std::size_t w = columns.begin; w < columns.end; ++w) {
            if (!visit((h * G.width + w) * G.channels)) return;
        }
    }
}

// Calls body(c, count) for each vector of a position's Channels: the first channel c and its lane count, kLanes but
// for a last partial vector.
template <std::size_t Channels, class Body>
HWY_INLINE void ForEachChannelVector(const Body& body) {
    constexpr std::size_t kWhole = Channels / kLanes * kLanes;
    for (std::size_t c = 0; c < kWhole; c += kLanes) body(c, kLanes);
    if constexpr (kWhole != Channels) body(kWhole, Channels - kWhole);
}

// The values a max pool reads: the input as it is (PlainValues) or as a transform of it (pooling_bn_input-inl.h's
// NormalizedValues): load(d, sample, offset, c, count) gives the `count` lanes of channels [c, c + count) at `offset`
// of the sample (lanes past count: unspecified, never stored or routed).
struct PlainValues {
    HWY_INLINE hn::Vec<FloatTag> operator()(FloatTag d, const float* HWY_RESTRICT sample, std::size_t offset,
                                            std::size_t /*c*/, std::size_t count) const {
        return LoadFirstN(d, sample + offset, count);
    }
};

template <window_geometry G, class Values>
HWY_INLINE void MaxPoolForward(const float* HWY_RESTRICT x, std::size_t rows, float* HWY_RESTRICT y,
                               const Values& values) {
    CheckGeometry<G>();
    const FloatTag d;
    for (std::size_t r = 0; r < rows; ++r) {
        const float* sample = x + r * G.input_size();
        float* out = y + r * kOutputSize<G>;
        ForEachWindow<G>([&](Span window_rows, Span window_columns, std::size_t at) HWY_ATTR {
            if (at % kOutputRowFloats<G> == 0) PrefetchNextWindowRows<G>(sample, at / kOutputRowFloats<G>);
            ForEachChannelVector<G.channels>([&](std::size_t c, std::size_t count) HWY_ATTR {
                auto max =
                    values(d, sample, (window_rows.begin * G.width + window_columns.begin) * G.channels + c, c, count);
                ForEachPosition<G>(window_rows, window_columns, [&](std::size_t p) HWY_ATTR {
                    max = hn::Max(max, values(d, sample, p + c, c, count));
                    return true;
                });
                StoreFirstN(max, d, out + at + c, count);
            });
        });
    }
}

template <window_geometry G, class Values>
HWY_INLINE void MaxPoolBackward(const float* HWY_RESTRICT x, const float* HWY_RESTRICT y, const float* HWY_RESTRICT dy,
                                std::size_t rows, float* HWY_RESTRICT dx, const Values& values) {
    CheckGeometry<G>();
    const FloatTag d;
    for (std::size_t r = 0; r < rows; ++r) {
        const float* sample = x + r * G.input_size();
        float* grad = dx + r * G.input_size();
        if constexpr (!kWindowsTile<G>) std::fill(grad, grad + G.input_size(), 0.0f);
        ForEachWindow<G>([&](Span window_rows, Span window_columns, std::size_t at) HWY_ATTR {
            if (at % kOutputRowFloats<G> == 0) PrefetchNextWindowRows<G>(sample, at / kOutputRowFloats<G>);
            ForEachChannelVector<G.channels>([&](std::size_t c, std::size_t count) HWY_ATTR {
                const std::size_t out = r * kOutputSize<G> + at + c;
                const auto max = LoadFirstN(d, y + out, count), share = LoadFirstN(d, dy + out, count);
                // Lanes past `count` start as routed: they are never stored, nor do they hold up the early exit.
                auto routed = hn::Not(hn::FirstN(d, count));
                ForEachPosition<G>(window_rows, window_columns, [&](std::size_t p) HWY_ATTR {
                    const auto hit = hn::AndNot(routed, hn::Eq(values(d, sample, p + c, c, count), max));
                    float* target = grad + p + c;
                    if constexpr (kWindowsTile<G>) {  // every position written, once
                        StoreFirstN(hn::Add(hn::Zero(d), hn::IfThenElseZero(hit, share)), d, target, count);
                        routed = hn::Or(routed, hit);
                        return true;
                    }
                    if (hn::AllFalse(d, hit)) return true;
                    StoreFirstN(hn::Add(LoadFirstN(d, target, count), hn::IfThenElseZero(hit, share)), d, target,
                                count);
                    routed = hn::Or(routed, hit);
                    return !hn::AllTrue(d, routed);
                });
            });
        });
    }
}

}  // namespace pooling_detail

template <window_geometry G>
void MaxPool2dForward(const float* x, std::size_t rows, float* y) {
    pooling_detail::MaxPoolForward<G>(x, rows, y, pooling_detail::PlainValues{});
}

template <window_geometry G>
void MaxPool2dBackward(const float* x, const float* y, const float* dy, std::size_t rows, float* dx) {
    pooling_detail::MaxPoolBackward<G>(x, y, dy, rows, dx, pooling_detail::PlainValues{});
}

template <window_geometry G>
void AveragePool2dForward(const float* x, std::size_t rows, float* y) {
    using namespace pooling_detail;
    CheckGeometry<G>();
    const FloatTag d;
    for (std::size_t r = 0; r < rows; ++r) {
        const float* sample = x + r * G.input_size();
        float* out = y + r * kOutputSize<G>;
        ForEachWindow<G>([&](Span window_rows, Span window_columns, std::size_t at) HWY_ATTR {
            const auto count = hn::Set(d, static_cast<float>(window_rows.size() * window_columns.size()));
            ForEachChannelVector<G.channels>([&](std::size_t c, std::size_t lanes) HWY_ATTR {
                auto sum = hn::Zero(d);
                ForEachPosition<G>(window_rows, window_columns, [&](std::size_t p) HWY_ATTR {
                    sum = hn::Add(sum, LoadFirstN(d, sample + p + c, lanes));
                    return true;
                });
                StoreFirstN(hn::Div(sum, count), d, out + at + c, lanes);
            });
        });
    }
}

template <window_geometry G>
void AveragePool2dBackward(const float* dy, std::size_t rows, float* dx) {
    using namespace pooling_detail;
    CheckGeometry<G>();
    const FloatTag d;
    for (std::size_t r = 0; r < rows; ++r) {
        float* grad = dx + r * G.input_size();
        if constexpr (!kWindowsTile<G>) std::fill(grad, grad + G.input_size(), 0.0f);
        ForEachWindow<G>([&](Span window_rows, Span window_columns, std::size_t at) HWY_ATTR {
            const auto count = hn::Set(d, static_cast<float>(window_rows.size() * window_columns.size()));
            ForEachChannelVector<G.channels>([&](std::size_t c, std::size_t lanes) HWY_ATTR {
                const auto share = hn::Div(LoadFirstN(d, dy + r * kOutputSize<G> + at + c, lanes), count);
                ForEachPosition<G>(window_rows, window_columns, [&](std::size_t p) HWY_ATTR {
                    float* target = grad + p + c;
                    const auto before = kWindowsTile<G> ? hn::Zero(d) : LoadFirstN(d, target, lanes);
                    StoreFirstN(hn::Add(before, share), d, target, lanes);
                    return true;
                });
            });
        });
    }
}

template <std::size_t Height, std::size_t Width, std::size_t Channels>
void GlobalAveragePool2dForward(const float* x, std::size_t rows, float* y) {
    using namespace pooling_detail;
    static_assert(Height >= 1 && Width >= 1 && Channels >= 1, "pooling: every extent must be at least 1");
    constexpr std::size_t kPositions = Height * Width;
    const FloatTag d;
    const auto count = hn::Set(d, static_cast<float>(kPositions));
    // Running sums of every channel, padded to whole vectors: the positions walk the sample in memory order and
    // the channel vectors' chains of additions interleave.
    HWY_ALIGN float sums[vector_helpers::VectorsFor(Channels) * kLanes];
    for (std::size_t r = 0; r < rows; ++r) {
        const float* sample = x + r * kPositions * Channels;
        std::fill(sums, sums + sizeof(sums) / sizeof(sums[0]), 0.0f);
        for (std::size_t p = 0; p < kPositions; ++p) {
            ForEachChannelVector<Channels>([&](std::size_t c, std::size_t lanes) HWY_ATTR {
                hn::Store(hn::Add(hn::Load(d, sums + c), LoadFirstN(d, sample + p * Channels + c, lanes)), d, sums + c);
            });
        }
        ForEachChannelVector<Channels>([&](std::size_t c, std::size_t lanes) HWY_ATTR {
            StoreFirstN(hn::Div(hn::Load(d, sums + c), count), d, y + r * Channels + c, lanes);
        });
    }
}

template <std::size_t Height, std::size_t Width, std::size_t Channels>
void GlobalAveragePool2dBackward(const float* dy, std::size_t rows, float* dx) {
    using namespace pooling_detail;
    static_assert(Height >= 1 && Width >= 1 && Channels >= 1, "pooling: every extent must be at least 1");
    constexpr std::size_t kPositions = Height * Width;
    const FloatTag d;
    const auto count = hn::Set(d, static_cast<float>(kPositions));
    HWY_ALIGN float share[vector_helpers::VectorsFor(Channels) * kLanes];
    for (std::size_t r = 0; r < rows; ++r) {
        ForEachChannelVector<Channels>([&](std::size_t c, std::size_t lanes) HWY_ATTR {
            hn::Store(hn::Div(LoadFirstN(d, dy + r * Channels + c, lanes), count), d, share + c);
        });
        float* grad = dx + r * kPositions * Channels;
        for (std::size_t p = 0; p < kPositions; ++p) std::copy(share, share + Channels, grad + p * Channels);
    }
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_POOLING_INL_H_
