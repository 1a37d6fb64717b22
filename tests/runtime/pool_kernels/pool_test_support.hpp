// Shared by the pooling kernel tests (pooling-inl.h): the shapes tested, the tables through which each Highway test
// TU exports its kernels, and double-precision scalar references written from the contract (TensorFlow's same-padding
// rule spelled out again here, windows enumerated over padded coordinates and filtered, not clipped as the kernels do).
//
// Tolerances, u = float's unit roundoff: a max is exact; a float sum of n terms is within (n - 1) u sum |term| of the
// exact sum, and a division adds u |quotient|.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "runtime/kernels/window_geometry.hpp"
#include "tests/runtime/dense_kernels/dense_test_support.hpp"  // GuardedArray, CheckWithin, ForEachTargetTable

namespace nnfuse::test {

using kernels::window_geometry;

// Spatial shapes and windows (channels set below): exact tiling, a dropped last row and column, overlapping windows,
// same padding split evenly, unevenly (nothing before, one after; one before, two after), strides larger than the
// window (positions no window covers), non-square pools.
inline constexpr window_geometry kShapes[] = {
    {.height = 6, .width = 8, .window_h = 2, .window_w = 2, .stride_h = 2, .stride_w = 2},
    {.height = 7, .width = 9, .window_h = 2, .window_w = 2, .stride_h = 2, .stride_w = 2},
    {.height = 7, .width = 9, .window_h = 3, .window_w = 3, .stride_h = 2, .stride_w = 2},
    {.height = 7, .width = 9, .window_h = 3, .window_w = 3, .stride_h = 1, .stride_w = 1, .same_padding = true},
    {.height = 7, .width = 9, .window_h = 3, .window_w = 3, .stride_h = 2, .stride_w = 2, .same_padding = true},
    {.height = 7, .width = 9, .window_h = 2, .window_w = 2, .stride_h = 2, .stride_w = 2, .same_padding = true},
    {.height = 7, .width = 9, .window_h = 2, .window_w = 3, .stride_h = 2, .stride_w = 3},
    {.height = 7, .width = 9, .window_h = 2, .window_w = 3, .stride_h = 1, .stride_w = 1, .same_padding = true},
    {.height = 5, .width = 6, .window_h = 4, .window_w = 4, .stride_h = 1, .stride_w = 1, .same_padding = true},
    {.height = 7, .width = 9, .window_h = 2, .window_w = 2, .stride_h = 3, .stride_w = 3},
};
// Below, at and above the 128-bit (SSSE3) width, odd, and a whole number of AVX-512 vectors.
inline constexpr std::size_t kChannels[] = {1, 3, 17, 64};
inline constexpr std::size_t kShapeCount = sizeof(kShapes) / sizeof(kShapes[0]);
inline constexpr std::size_t kChannelCount = sizeof(kChannels) / sizeof(kChannels[0]);
inline constexpr std::size_t kPoolCases = kShapeCount * kChannelCount;

constexpr window_geometry PoolCase(std::size_t index) {
    window_geometry g = kShapes[index / kChannelCount];
    g.channels = kChannels[index % kChannelCount];
    return g;
}

// Global average pooling: (height, width, channels), tested as the average pool whose window is the whole input.
inline constexpr window_geometry kGlobalShapes[] = {
    {.height = 7, .width = 9, .channels = 1},  {.height = 7, .width = 9, .channels = 3},
    {.height = 7, .width = 9, .channels = 17}, {.height = 7, .width = 9, .channels = 64},
    {.height = 1, .width = 1, .channels = 3},  {.height = 4, .width = 4, .channels = 32},
    {.height = 1, .width = 5, .channels = 17},
};
inline constexpr std::size_t kGlobalCases = sizeof(kGlobalShapes) / sizeof(kGlobalShapes[0]);

constexpr window_geometry AsWholeWindow(window_geometry g) {
    g.window_h = g.height, g.window_w = g.width;
    return g;
}

// ---- Tables of kernels instantiated per target (plain arrays and function pointers) -----------------------------

using PoolForwardFn = void (*)(const float* x, std::size_t rows, float* y);
using MaxBackwardFn = void (*)(const float* x, const float* y, const float* dy, std::size_t rows, float* dx);
using AverageBackwardFn = void (*)(const float* dy, std::size_t rows, float* dx);

template <class BackwardFn>
struct PoolEntry {
    window_geometry geometry;  // for global pooling: the whole input as the window (AsWholeWindow)
    PoolForwardFn forward;
    BackwardFn backward;
};

template <class BackwardFn>
struct PoolTable {
    std::int64_t target;
    const PoolEntry<BackwardFn>* entries;
    std::size_t count;
};

// ---- The references ----------------------------------------------------------------------------------------------

// One axis under TensorFlow's rule: out = ceil(extent / stride) under same padding and the padding before is half the
// total rounded down, total = max(0, (out - 1) stride + window - extent); under valid padding
// out = floor((extent - window) / stride) + 1 and nothing is added.
struct ReferenceAxis {
    std::size_t out;
    long pad_before;
};

inline ReferenceAxis Axis(std::size_t extent, std::size_t window, std::size_t stride, bool same) {
    if (!same) return {(extent - window) / stride + 1, 0};
    const std::size_t out = (extent + stride - 1) / stride;
    const long total = std::max(0L, static_cast<long>((out - 1) * stride + window) - static_cast<long>(extent));
    return {out, total / 2};
}

inline std::size_t OutputSize(const window_geometry& g) {
    return Axis(g.height, g.window_h, g.stride_h, g.same_padding).out *
           Axis(g.width, g.window_w, g.stride_w, g.same_padding).out * g.channels;
}

// The windows of a sample in row-major order, each as the indices h * width + w of its positions inside the input,
// in row-major order.
inline std::vector<std::vector<std::size_t>> Windows(const window_geometry& g) {
    const ReferenceAxis rows = Axis(g.height, g.window_h, g.stride_h, g.same_padding);
    const ReferenceAxis columns = Axis(g.width, g.window_w, g.stride_w, g.same_padding);
    std::vector<std::vector<std::size_t>> windows;
    for (std::size_t i = 0; i < rows.out; ++i) {
        for (std::size_t j = 0; j < columns.out; ++j) {
            std::vector<std::size_t>& positions = windows.emplace_back();
            for (std::size_t a = 0; a < g.window_h; ++a) {
                for (std::size_t b = 0; b < g.window_w; ++b) {
                    const long h = static_cast<long>(i * g.stride_h + a) - rows.pad_before;
                    const long w = static_cast<long>(j * g.stride_w + b) - columns.pad_before;
                    if (h >= 0 && w >= 0 && h < static_cast<long>(g.height) && w < static_cast<long>(g.width)) {
                        positions.push_back(static_cast<std::size_t>(h) * g.width + static_cast<std::size_t>(w));
                    }
                }
            }
        }
    }
    return windows;
}

// Values and a bound on each one's float rounding error (0 where the float result is exact).
struct Expected {
    std::vector<double> value, tolerance;
};

// y[r, window, c] = the max over the window's positions: exact.
inline Expected MaxForward(const window_geometry& g, std::size_t rows, const std::vector<float>& x) {
    const auto windows = Windows(g);
    const std::size_t in_size = g.height * g.width * g.channels, out_size = windows.size() * g.channels;
    Expected y{std::vector<double>(rows * out_size), std::vector<double>(rows * out_size, 0.0)};
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t k = 0; k < windows.size(); ++k) {
            for (std::size_t c = 0; c < g.channels; ++c) {
                double max = -std::numeric_limits<double>::infinity();
                for (const std::size_t p : windows[k]) max = std::max<double>(max, x[r * in_size + p * g.channels + c]);
                y.value[r * out_size + k * g.channels + c] = max;
            }
        }
    }
    return y;
}

// Each dy to the first position of its window (row-major) holding the window's max, found afresh from x.
inline Expected MaxBackward(const window_geometry& g, std::size_t rows, const std::vector<float>& x,
                            const std::vector<float>& dy) {
    const auto windows = Windows(g);
    const std::size_t in_size = g.height * g.width * g.channels, out_size = windows.size() * g.channels;
    std::vector<double> dx(rows * in_size, 0.0), magnitude(rows * in_size, 0.0), terms(rows * in_size, 0.0);
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t k = 0; k < windows.size(); ++k) {
            for (std::size_t c = 0; c < g.channels; ++c) {
                std::size_t first = windows[k].front();
                for (const std::size_t p : windows[k]) {
                    if (x[r * in_size + p * g.channels + c] > x[r * in_size + first * g.channels + c]) first = p;
                }
                const std::size_t at = r * in_size + first * g.channels + c;
                const double share = dy[r * out_size + k * g.channels + c];
                dx[at] += share, magnitude[at] += std::abs(share), terms[at] += 1;
            }
        }
    }
    for (std::size_t i = 0; i < dx.size(); ++i) magnitude[i] *= 2 * std::max(terms[i] - 1, 0.0) * kUnitRoundoff;
    return {dx, magnitude};
}

inline Expected AverageForward(const window_geometry& g, std::size_t rows, const std::vector<float>& x) {
    const auto windows = Windows(g);
    const std::size_t in_size = g.height * g.width * g.channels, out_size = windows.size() * g.channels;
    Expected y{std::vector<double>(rows * out_size), std::vector<double>(rows * out_size)};
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t k = 0; k < windows.size(); ++k) {
            const auto n = static_cast<double>(windows[k].size());
            for (std::size_t c = 0; c < g.channels; ++c) {
                double sum = 0, magnitude = 0;
                for (const std::size_t p : windows[k]) {
                    sum += x[r * in_size + p * g.channels + c];
                    magnitude += std::abs(x[r * in_size + p * g.channels + c]);
                }
                y.value[r * out_size + k * g.channels + c] = sum / n;
                y.tolerance[r * out_size + k * g.channels + c] = (n + 1) * kUnitRoundoff * magnitude / n;
            }
        }
    }
    return y;
}

// dx = the sum over the windows covering a position of dy / count: each share rounded once, then summed.
inline Expected AverageBackward(const window_geometry& g, std::size_t rows, const std::vector<float>& dy) {
    const auto windows = Windows(g);
    const std::size_t in_size = g.height * g.width * g.channels, out_size = windows.size() * g.channels;
    std::vector<double> dx(rows * in_size, 0.0), magnitude(rows * in_size, 0.0), terms(rows * in_size, 0.0);
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t k = 0; k < windows.size(); ++k) {
            for (std::size_t c = 0; c < g.channels; ++c) {
                const double share = dy[r * out_size + k * g.channels + c] / static_cast<double>(windows[k].size());
                for (const std::size_t p : windows[k]) {
                    const std::size_t at = r * in_size + p * g.channels + c;
                    dx[at] += share, magnitude[at] += std::abs(share), terms[at] += 1;
                }
            }
        }
    }
    for (std::size_t i = 0; i < dx.size(); ++i) magnitude[i] *= (terms[i] + 1) * kUnitRoundoff;
    return {dx, magnitude};
}

// ---- Running kernels on guarded arrays -------------------------------------------------------------------------

inline std::vector<float> RunForward(PoolForwardFn run, const window_geometry& g, std::size_t rows,
                                     const std::vector<float>& x) {
    const auto input = GuardedArray<float>::CopyOf(x);
    GuardedArray<float> output(rows * OutputSize(g), kUnwritten);
    run(input.data(), rows, output.data());
    return output.ToVector();
}

inline std::vector<float> RunBackward(AverageBackwardFn run, const window_geometry& g, std::size_t rows,
                                      const std::vector<float>& dy) {
    const auto gradient = GuardedArray<float>::CopyOf(dy);
    GuardedArray<float> dx(rows * g.height * g.width * g.channels, kUnwritten);
    run(gradient.data(), rows, dx.data());
    return dx.ToVector();
}

inline std::vector<float> RunBackward(MaxBackwardFn run, const window_geometry& g, std::size_t rows,
                                      const std::vector<float>& x, const std::vector<float>& y,
                                      const std::vector<float>& dy) {
    const auto input = GuardedArray<float>::CopyOf(x), output = GuardedArray<float>::CopyOf(y);
    const auto gradient = GuardedArray<float>::CopyOf(dy);
    GuardedArray<float> dx(x.size(), kUnwritten);
    run(input.data(), output.data(), gradient.data(), rows, dx.data());
    return dx.ToVector();
}

inline void CheckAgainst(const std::string& what, const std::vector<float>& actual, const Expected& expected) {
    REQUIRE(actual.size() == expected.value.size());
    CheckWithin(
        what, actual.size(), [&](std::size_t i) { return actual[i]; }, [&](std::size_t i) { return expected.value[i]; },
        [&](std::size_t i) { return expected.tolerance[i]; });
}

inline std::vector<float> ToFloat(const std::vector<double>& values) {
    return std::vector<float>(values.begin(), values.end());
}

// Samples [begin, begin + count) of an array of `size` floats per sample.
inline std::vector<float> Samples(const std::vector<float>& values, std::size_t size, std::size_t begin,
                                  std::size_t count) {
    return std::vector<float>(values.begin() + begin * size, values.begin() + (begin + count) * size);
}

inline std::string Describe(const window_geometry& g) {
    return std::to_string(g.height) + "x" + std::to_string(g.width) + "x" + std::to_string(g.channels) + ", pool " +
           std::to_string(g.window_h) + "x" + std::to_string(g.window_w) + ", strides " + std::to_string(g.stride_h) +
           "x" + std::to_string(g.stride_w) + (g.same_padding ? ", same" : ", valid");
}

inline std::string Describe(const window_geometry& g, std::size_t rows) {
    return Describe(g) + ", rows " + std::to_string(rows);
}

// The outputs of rows [0, first) and [first, rows) computed apart, concatenated: run(begin, count) returns those of
// rows [begin, begin + count) from one kernel call on arrays of their own (out_size floats per sample).
template <class Run>
std::vector<float> RunSplit(std::size_t rows, std::size_t first, std::size_t out_size, const Run& run) {
    std::vector<float> out;
    for (const auto& [begin, end] : {std::pair{std::size_t{0}, first}, std::pair{first, rows}}) {
        const std::vector<float> part = run(begin, end - begin);
        REQUIRE(part.size() == (end - begin) * out_size);
        out.insert(out.end(), part.begin(), part.end());
    }
    return out;
}

}  // namespace nnfuse::test
