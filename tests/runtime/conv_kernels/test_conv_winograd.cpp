// Winograd's F(2x2, 3x3) forward (runtime/kernels/conv2d_winograd-inl.h), as the training runs it: Conv2dForwardKernel,
// then Conv2dForwardWithMoments, on every compiled SIMD target. Against the double-precision reference within
// Winograd's rounding bound (winograd_reference.hpp), at odd extents (a last tile of one row or column), a 1x1 image,
// 16, 17 and 33 channels (partial vectors), 16 to 64 filters; the same bits per sample however rows are split; and on
// the CNN sample's shapes, an error of the same size as the direct product's (Conv2dForward).
// The input gradient's Winograd path (Conv2dFlipKernel, Conv2dBackward) is tested with the other backward paths
// (test_conv_backward.cpp, kWinogradOdd and kTypical14).

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/conv_kernels/test_conv_winograd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/conv2d-inl.h"
#include "runtime/kernels/conv2d_bn_moments-inl.h"
#include "tests/runtime/conv_kernels/conv_test_support.hpp"

#ifndef NNFUSE_TEST_CONV_WINOGRAD_TYPES
#define NNFUSE_TEST_CONV_WINOGRAD_TYPES  // this file is compiled once per target; the types only once
namespace nnfuse::test {
// {height, width, channels, window_h, window_w, stride_h, stride_w, same_padding}
inline constexpr window_geometry kWinogradOddExtents{7, 9, 16, 3, 3, 1, 1, true};
inline constexpr window_geometry kWinogradPartialVectors{5, 5, 17, 3, 3, 1, 1, true};
inline constexpr window_geometry kWinogradOnePixel{1, 1, 16, 3, 3, 1, 1, true};
inline constexpr window_geometry kWinogradWideChannels{2, 3, 33, 3, 3, 1, 1, true};
inline constexpr window_geometry kCnnHidden28{28, 28, 32, 3, 3, 1, 1, true};  // the CNN sample's second conv
inline constexpr window_geometry kCnnHidden14{14, 14, 64, 3, 3, 1, 1, true};  // and its last
static_assert(kernels::forward_is_winograd(kWinogradOddExtents, 16) &&
              kernels::forward_is_winograd(kWinogradPartialVectors, 19) &&
              kernels::forward_is_winograd(kWinogradOnePixel, 16) &&
              kernels::forward_is_winograd(kWinogradWideChannels, 17) &&
              kernels::forward_is_winograd(kCnnHidden28, 32) && kernels::forward_is_winograd(kCnnHidden14, 64));
// Too few channels or filters, another window, a stride, valid padding, more filters than a stack tile holds: the
// direct product.
static_assert(!kernels::forward_is_winograd({7, 9, 15, 3, 3, 1, 1, true}, 16) &&
              !kernels::forward_is_winograd(kWinogradOddExtents, 15) &&
              !kernels::forward_is_winograd({7, 9, 16, 5, 5, 1, 1, true}, 16) &&
              !kernels::forward_is_winograd({7, 9, 16, 3, 3, 2, 2, true}, 16) &&
              !kernels::forward_is_winograd({7, 9, 16, 3, 3, 1, 1, false}, 16) &&
              !kernels::forward_is_winograd({2, 3, 16, 3, 3, 1, 1, true}, 513));

using ConvPrepareFn = void (*)(const float* kernel, float* forward_kernel);
using ConvWithMomentsFn = void (*)(const float* x, std::size_t rows, const float* forward_kernel, const float* bias,
                                   float* y, float* moments);
struct WinogradEntry {
    ConvShape shape;
    ConvPrepareFn prepare;
    ConvWithMomentsFn with_moments;
    ConvForwardFn direct;
};
struct WinogradTable {
    std::int64_t target;
    const WinogradEntry* entries;
    std::size_t count;
};
}  // namespace nnfuse::test
#endif

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

WinogradTable ConvWinogradKernels() {
    using enum activation_kind;
    namespace k = kernels::HWY_NAMESPACE;
#define NNFUSE_WINOGRAD_ENTRY(G, F, B)              \
    {{G, F, linear, B},                             \
     &k::Conv2dForwardKernel<G, F>,                 \
     &k::Conv2dForwardWithMoments<G, F, linear, B>, \
     &k::Conv2dForward<G, F, linear, B>},
    static const WinogradEntry entries[] = {
        NNFUSE_WINOGRAD_ENTRY(kWinogradOddExtents, 16, true) NNFUSE_WINOGRAD_ENTRY(kWinogradPartialVectors, 19, false)
            NNFUSE_WINOGRAD_ENTRY(kWinogradOnePixel, 16, true) NNFUSE_WINOGRAD_ENTRY(kWinogradWideChannels, 17, true)
                NNFUSE_WINOGRAD_ENTRY(kCnnHidden28, 32, false) NNFUSE_WINOGRAD_ENTRY(kCnnHidden14, 64, false)};
#undef NNFUSE_WINOGRAD_ENTRY
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <cstring>

#include "hwy/aligned_allocator.h"
#include "runtime/kernels/bn_chunked.hpp"
#include "tests/runtime/conv_kernels/winograd_reference.hpp"

namespace nnfuse::test {
namespace {

HWY_EXPORT(ConvWinogradKernels);

WinogradTable Table() { return HWY_DYNAMIC_DISPATCH(ConvWinogradKernels)(); }

// y of rows [first_row, first_row + rows) through the entry's forward kernel and Conv2dForwardWithMoments.
std::vector<float> RunWinograd(const WinogradEntry& e, const ConvProblem& p, std::size_t first_row, std::size_t rows) {
    const ConvShape& s = p.shape;
    const auto x = GuardedArray<float>::CopyOf(
        std::vector<float>(p.x.begin() + first_row * s.InputSize(), p.x.begin() + (first_row + rows) * s.InputSize()));
    const auto kernel = GuardedArray<float>::CopyOf(p.kernel);
    const auto bias = GuardedArray<float>::CopyOf(p.bias);
    GuardedArray<float> forward_kernel(kernels::forward_kernel_floats(s.g, s.filters), kUnwritten);
    e.prepare(kernel.data(), forward_kernel.data());
    GuardedArray<float> y(rows * s.OutputSize(), kUnwritten);
    auto moments = hwy::AllocateAligned<float>(kernels::bn_chunk_moments_floats(s.filters));
    e.with_moments(x.data(), rows, forward_kernel.data(), s.use_bias ? bias.data() : nullptr, y.data(), moments.get());
    return y.ToVector();
}

TEST_CASE("Winograd's forward matches a double-precision reference within its rounding bound on every target",
          "[conv][forward][winograd]") {
    const WinogradTable table = Table();
    for (std::size_t c = 0; c < table.count; ++c) {
        const ConvShape s = table.entries[c].shape;
        for (const std::size_t rows : {1, 2}) {
            INFO(Describe(s, rows));
            const ConvProblem p = MakeConvProblem(s, rows, static_cast<std::uint32_t>(500 * c + rows));
            const std::vector<double> z =
                ConvPreActivations(s, rows, ToDouble(p.x), ToDouble(p.kernel), ToDouble(p.bias)).z;
            const std::vector<double> magnitude =
                WinogradMagnitudes(s.g, s.filters, rows, ToDouble(p.x), ToDouble(p.kernel));
            ForEachTargetTable(Table, [&](const WinogradTable& kernels) {
                const std::vector<float> y = RunWinograd(kernels.entries[c], p, 0, rows);
                CheckWithin(
                    "y", y.size(), [&](std::size_t i) { return y[i]; }, [&](std::size_t i) { return z[i]; },
                    [&](std::size_t i) {
                        return WinogradTolerance(s.g.channels, magnitude[i], s.use_bias ? p.bias[i % s.filters] : 0);
                    });
            });
        }
    }
}

TEST_CASE("Winograd's forward gives each sample the same bits however the rows are split",
          "[conv][forward][winograd]") {
    const WinogradTable table = Table();
    for (std::size_t c = 0; c < table.count; ++c) {
        const ConvShape s = table.entries[c].shape;
        constexpr std::size_t kRows = 4;
        INFO(Describe(s, kRows));
        const ConvProblem p = MakeConvProblem(s, kRows, static_cast<std::uint32_t>(8000 + c));
        ForEachTargetTable(Table, [&](const WinogradTable& kernels) {
            const WinogradEntry& e = kernels.entries[c];
            const std::vector<float> whole = RunWinograd(e, p, 0, kRows);
            for (const std::size_t split : {1, 3}) {
                INFO("split after row " << split);
                std::vector<float> parts = RunWinograd(e, p, 0, split);
                const std::vector<float> rest = RunWinograd(e, p, split, kRows - split);
                parts.insert(parts.end(), rest.begin(), rest.end());
                CHECK(std::memcmp(parts.data(), whole.data(), whole.size() * sizeof(float)) == 0);
            }
        });
    }
}

// Root-mean-square error against the double reference.
double RmsError(const std::vector<float>& y, const std::vector<double>& z) {
    double squares = 0;
    for (std::size_t i = 0; i < y.size(); ++i) squares += (y[i] - z[i]) * (y[i] - z[i]);
    return std::sqrt(squares / static_cast<double>(y.size()));
}

// Fewer products per output, but transforms that add before the sums: on the CNN's shapes the error stays of the
// direct product's size, for centred inputs and for inputs with an offset (8 + [-1, 1]: unnormalized pixels), which
// the input transform's differences cancel.
TEST_CASE("Winograd's forward loses no more than twice the direct product's precision on the CNN's shapes",
          "[conv][forward][winograd][precision]") {
    const WinogradTable table = Table();
    constexpr std::size_t kRows = 2;
    std::size_t tested = 0;
    for (std::size_t c = 0; c < table.count; ++c) {
        const ConvShape s = table.entries[c].shape;
        if (s.g.height < 14) continue;
        ++tested;
        for (const float offset : {0.0f, 8.0f}) {
            INFO(Describe(s, kRows) << ", inputs " << offset << " + [-1, 1]");
            ConvProblem p = MakeConvProblem(s, kRows, static_cast<std::uint32_t>(9100 + c));
            for (float& value : p.x) value += offset;
            const std::vector<double> z =
                ConvPreActivations(s, kRows, ToDouble(p.x), ToDouble(p.kernel), ToDouble(p.bias)).z;
            ForEachTargetTable(Table, [&](const WinogradTable& kernels) {
                const WinogradEntry& e = kernels.entries[c];
                const auto x = GuardedArray<float>::CopyOf(p.x);
                const auto kernel = GuardedArray<float>::CopyOf(p.kernel);
                GuardedArray<float> direct(kRows * s.OutputSize(), kUnwritten);
                e.direct(x.data(), kRows, kernel.data(), nullptr, direct.data());
                const double winograd_error = RmsError(RunWinograd(e, p, 0, kRows), z);
                const double direct_error = RmsError(direct.ToVector(), z);
                INFO("root-mean-square error: Winograd " << winograd_error << ", direct " << direct_error);
                CHECK(direct_error > 0.0);
                CHECK(winograd_error < 2.0 * direct_error);
            });
        }
    }
    CHECK(tested == 2);
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
