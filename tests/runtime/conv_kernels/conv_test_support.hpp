// Shared by the Conv2D kernel tests: the shapes every target is tested at, a double-precision scalar reference
// written from the contract (zero padding, window_geometry's rule, Keras's kernel layout), and the kernel tables the
// Highway test TUs export. Guarded buffers, tolerance checks and the per-target loop come from the dense tests.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "dsl/activation.hpp"
#include "runtime/kernels/window_geometry.hpp"
#include "tests/runtime/dense_kernels/dense_test_support.hpp"

namespace nnfuse::test {

using kernels::window_geometry;

// {height, width, channels, window_h, window_w, stride_h, stride_w, same_padding}
inline constexpr window_geometry kSame3x3C3{7, 9, 3, 3, 3, 1, 1, true};    // odd extents, 'same'
inline constexpr window_geometry kSame3x3C1{7, 9, 1, 3, 3, 1, 1, true};    // one channel
inline constexpr window_geometry kSame5x5S2{7, 9, 17, 5, 5, 2, 2, true};   // stride 2, padding 1 before, 2 after
inline constexpr window_geometry kValid5x5S2{8, 7, 3, 5, 5, 2, 2, false};  // stride 2, a column no window reads
inline constexpr window_geometry kValid3x3C17{9, 7, 17, 3, 3, 1, 1, false};
inline constexpr window_geometry kMixed{7, 9, 3, 3, 5, 2, 1, true};         // unequal windows and strides
inline constexpr window_geometry kTypical14{14, 14, 32, 3, 3, 1, 1, true};  // a typical hidden layer
inline constexpr window_geometry kFirst28{28, 28, 1, 3, 3, 1, 1, true};     // a typical first layer
inline constexpr window_geometry kWideBand{5, 30, 100, 3, 3, 1, 1, true};   // forward band split into segments
// The kernel gradient's tiles (conv2d_backward-inl.h, 8192-float bands): 7 output rows, then 5; stride 2 rows overlap.
inline constexpr window_geometry kRowTiles{23, 11, 40, 3, 3, 2, 2, true};
inline constexpr window_geometry kRowTiles5x5{20, 40, 17, 5, 5, 1, 2, true};  // 7, 7, then 6 output rows
// The input gradient as a forward convolution of dz (stride 1, same, odd windows) and the shapes that must keep the
// scatter (conv2d_backward-inl.h's kInputGradientIsForward): an even window, one odd in height and even in width, and
// 3 x 3 x 911 filters, whose flipped patch (9 x 911 floats) would not fit the forward's band.
inline constexpr window_geometry kSame5x5C17{9, 11, 17, 5, 5, 1, 1, true};
inline constexpr window_geometry kSameEven{7, 9, 3, 2, 4, 1, 1, true};  // padding 0 before, 1 after (rows)
inline constexpr window_geometry kSame3x2{6, 7, 17, 3, 2, 1, 1, true};
inline constexpr window_geometry kSameManyFilters{3, 5, 2, 3, 3, 1, 1, true};
// The forward's balanced row blocks (gemm-inl.h's ForEachBalancedRowBlock) on rows of one segment: 10 pixels as 5 + 5
// (AVX-512, 64 filters) and 13 as 7 + 6 (48 filters); kTypical14 takes 5 + 5 + 4, kSame5x5C17 6 + 5.
inline constexpr window_geometry kBalanced10{5, 10, 7, 3, 3, 1, 1, true};
inline constexpr window_geometry kBalanced13{4, 13, 5, 3, 3, 1, 1, true};
// The input gradient as Winograd's forward of dz (forward_is_winograd of its geometry: 19 channels, 17 filters), at odd
// extents; kTypical14 with 64 filters takes it too.
inline constexpr window_geometry kWinogradOdd{7, 9, 17, 3, 3, 1, 1, true};

// X(geometry, filters, activation, use_bias) for every tested kernel.
// clang-format off
#define NNFUSE_CONV_TEST_KERNELS(X) \
    X(kSame3x3C3, 5, linear, false) \
    X(kSame3x3C3, 5, relu, true) \
    X(kSame3x3C3, 32, elu, true) \
    X(kSame3x3C1, 32, relu, true) \
    X(kSame3x3C1, 1, linear, true) \
    X(kSame5x5S2, 17, elu, true) \
    X(kSame5x5S2, 5, linear, false) \
    X(kValid5x5S2, 1, linear, true) \
    X(kValid5x5S2, 17, relu, false) \
    X(kValid3x3C17, 32, linear, false) \
    X(kValid3x3C17, 17, elu, true) \
    X(kMixed, 17, elu, false) \
    X(kTypical14, 64, relu, true) \
    X(kFirst28, 32, relu, true) \
    X(kWideBand, 5, linear, true) \
    X(kRowTiles, 70, elu, true) \
    X(kRowTiles5x5, 17, linear, false) \
    X(kSame5x5C17, 19, elu, true) \
    X(kSame5x5C17, 3, linear, false) \
    X(kSameEven, 5, linear, true) \
    X(kSame3x2, 17, elu, false) \
    X(kSameManyFilters, 911, linear, false) \
    X(kBalanced10, 64, relu, true) \
    X(kBalanced13, 48, linear, false) \
    X(kWinogradOdd, 19, elu, true)
// clang-format on

struct ConvShape {
    window_geometry g;
    std::size_t filters;
    activation_kind act;
    bool use_bias;

    std::size_t InputSize() const { return g.input_size(); }
    std::size_t OutputPixels() const { return g.out_height() * g.out_width(); }
    std::size_t OutputSize() const { return OutputPixels() * filters; }
    std::size_t PatchSize() const { return g.window_h * g.window_w * g.channels; }
    std::size_t KernelSize() const { return PatchSize() * filters; }
};

inline std::string Describe(const ConvShape& s, std::size_t rows) {
    const auto& g = s.g;
    return std::to_string(g.height) + "x" + std::to_string(g.width) + "x" + std::to_string(g.channels) + " window " +
           std::to_string(g.window_h) + "x" + std::to_string(g.window_w) + " stride " + std::to_string(g.stride_h) +
           "x" + std::to_string(g.stride_w) + (g.same_padding ? " same" : " valid") + ", filters " +
           std::to_string(s.filters) + ", " + std::string(keras_name(s.act)) + (s.use_bias ? ", bias" : ", no bias") +
           ", rows " + std::to_string(rows);
}

// Calls body(input index or -1 for padding, patch index k) for every tap of output pixel (oh, ow), from the
// definition: input row oh * stride_h + kh - pad_top, column ow * stride_w + kw - pad_left, channel c;
// k = (kh * window_w + kw) * channels + c (Keras's kernel row).
template <class Body>
void ForEachTap(const window_geometry& g, std::size_t oh, std::size_t ow, const Body& body) {
    // pad_top/pad_left recomputed here from TensorFlow's rule rather than taken from window_geometry.
    const auto pad_before = [](std::size_t extent, std::size_t window, std::size_t stride, bool same) -> long {
        if (!same) return 0;
        const long out = static_cast<long>((extent + stride - 1) / stride);
        const long total = std::max<long>(
            (out - 1) * static_cast<long>(stride) + static_cast<long>(window) - static_cast<long>(extent), 0);
        return total / 2;
    };
    const long top = pad_before(g.height, g.window_h, g.stride_h, g.same_padding);
    const long left = pad_before(g.width, g.window_w, g.stride_w, g.same_padding);
    for (std::size_t kh = 0; kh < g.window_h; ++kh) {
        for (std::size_t kw = 0; kw < g.window_w; ++kw) {
            const long ih = static_cast<long>(oh * g.stride_h + kh) - top;
            const long iw = static_cast<long>(ow * g.stride_w + kw) - left;
            const bool inside =
                ih >= 0 && iw >= 0 && ih < static_cast<long>(g.height) && iw < static_cast<long>(g.width);
            for (std::size_t c = 0; c < g.channels; ++c) {
                const long index = inside ? (ih * static_cast<long>(g.width) + iw) * static_cast<long>(g.channels) +
                                                static_cast<long>(c)
                                          : -1;
                body(index, (kh * g.window_w + kw) * g.channels + c);
            }
        }
    }
}

// Pre-activations z [rows, out_h, out_w, filters] in double and the magnitudes sum |x w| + |b| bounding their error.
inline PreActivations ConvPreActivations(const ConvShape& s, std::size_t rows, const std::vector<double>& x,
                                         const std::vector<double>& kernel, const std::vector<double>& bias) {
    PreActivations result{std::vector<double>(rows * s.OutputSize()), std::vector<double>(rows * s.OutputSize())};
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t oh = 0; oh < s.g.out_height(); ++oh) {
            for (std::size_t ow = 0; ow < s.g.out_width(); ++ow) {
                const std::size_t out = (r * s.OutputPixels() + oh * s.g.out_width() + ow) * s.filters;
                for (std::size_t f = 0; f < s.filters; ++f) {
                    result.z[out + f] = s.use_bias ? bias[f] : 0.0;
                    result.magnitude[out + f] = s.use_bias ? std::abs(bias[f]) : 0.0;
                }
                ForEachTap(s.g, oh, ow, [&](long index, std::size_t k) {
                    if (index < 0) return;
                    const double value = x[r * s.InputSize() + static_cast<std::size_t>(index)];
                    for (std::size_t f = 0; f < s.filters; ++f) {
                        const double term = value * kernel[k * s.filters + f];
                        result.z[out + f] += term;
                        result.magnitude[out + f] += std::abs(term);
                    }
                });
            }
        }
    }
    return result;
}

// One layer's random inputs: x, kernel (Glorot-like scale), bias, the upstream gradient g.
struct ConvProblem {
    ConvShape shape;
    std::size_t rows;
    std::vector<float> x, kernel, bias, g;
};

inline ConvProblem MakeConvProblem(const ConvShape& s, std::size_t rows, std::uint32_t seed) {
    std::mt19937 random(seed);
    ConvProblem p{s, rows, {}, {}, {}, {}};
    p.x = RandomUniform(random, rows * s.InputSize(), 1.0);
    p.kernel = RandomUniform(random, s.KernelSize(), std::sqrt(6.0 / static_cast<double>(s.PatchSize() + s.filters)));
    p.bias = RandomUniform(random, s.filters, 0.5);
    p.g = RandomUniform(random, rows * s.OutputSize(), 1.0);
    return p;
}

using ConvForwardFn = void (*)(const float* x, std::size_t rows, const float* kernel, const float* bias, float* y);
using ConvBackwardFn = void (*)(const float* x, const float* y, float* dy, std::size_t rows, const float* kernel,
                                const float* flipped_kernel, float* dkernel, float* dbias, float* dx);
using ConvFlipFn = void (*)(const float* kernel, float* flipped_kernel);

struct ConvEntry {
    ConvShape shape;
    ConvForwardFn forward;
    ConvBackwardFn backward = nullptr;  // nullptr in tables of forward tests
    ConvFlipFn flip = nullptr;          // Conv2dFlipKernel, with backward
};

struct ConvTable {
    std::int64_t target;  // HWY_TARGET of the code the entries point to
    const ConvEntry* entries;
    std::size_t count;
};

// conv_detail::InputGradientsAsForward(dz, rows, kernel, dx) per tested shape, nullptr where it does not apply.
using ConvInputGradientFn = void (*)(const float* dz, std::size_t rows, const float* kernel, float* dx);
struct ConvInputGradientTable {
    std::int64_t target;
    const ConvInputGradientFn* entries;
    std::size_t count;
};

}  // namespace nnfuse::test
