// Conv2dForwardWithMoments (runtime/kernels/conv2d_bn_moments-inl.h) on every compiled SIMD target, from the forward
// kernel Conv2dForwardKernel forms: y bit for bit Conv2dForward's (Winograd's geometries: within Winograd's bound of
// the double reference, winograd_reference.hpp), and the chunk record it writes, merged as the Net merges it
// (BnMergeChunkMoments), gives the mean and biased variance of y per filter within the float error of one statistics
// block, as BnChunkMoments' record does.
//
// Tolerance: a block's float sums of at most kBlockRows = 128 values (or one output row) per filter, merged in double:
// |mean - mean_ref| <= 4 * 128 u * max |y|, |var - var_ref| <= 8 * 128 u * (var_ref + max |y - mean_ref|^2) per filter,
// a few times the first-order bound of a two-pass block sum.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/conv_kernels/test_conv_bn_moments.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/bn_chunked-inl.h"
#include "runtime/kernels/conv2d_bn_moments-inl.h"
#include "tests/runtime/conv_kernels/conv_test_support.hpp"

#ifndef NNFUSE_TEST_CONV_BN_MOMENTS_TYPES
#define NNFUSE_TEST_CONV_BN_MOMENTS_TYPES  // this file is compiled once per target; the types only once
namespace nnfuse::test {
using ForwardWithMomentsFn = void (*)(const float* x, std::size_t rows, const float* forward_kernel, const float* bias,
                                      float* y, float* moments);
using ForwardKernelFn = void (*)(const float* kernel, float* forward_kernel);
using ChunkMomentsFn = void (*)(const float* x, std::size_t rows, float* moments);
using MergeChunkMomentsFn = void (*)(const float* moments, std::size_t rows, std::size_t chunk_rows, float epsilon,
                                     float* batch_mean, float* batch_var, float* inv_std);
struct MomentsEntry {
    ConvShape shape;
    ForwardKernelFn prepare;
    ForwardWithMomentsFn with_moments;
    ConvForwardFn forward;
    ChunkMomentsFn chunk_moments;
    MergeChunkMomentsFn merge;
};
struct MomentsTable {
    std::int64_t target;
    const MomentsEntry* entries;
    std::size_t count;
};
}  // namespace nnfuse::test
#endif

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

MomentsTable ConvMomentsKernels() {
    using enum activation_kind;
    namespace k = kernels::HWY_NAMESPACE;
    // The CNN sample's first and a hidden layer's shapes, odd extents, stride 2, valid padding, 17 and 100 filters
    // (partial vectors), a band split into segments; with and without bias.
#define NNFUSE_MOMENTS_ENTRY(G, F, B)               \
    {{G, F, linear, B},                             \
     &k::Conv2dForwardKernel<G, F>,                 \
     &k::Conv2dForwardWithMoments<G, F, linear, B>, \
     &k::Conv2dForward<G, F, linear, B>,            \
     &k::BnChunkMoments<F>,                         \
     &k::BnMergeChunkMoments<F>},
    static const MomentsEntry entries[] = {
        NNFUSE_MOMENTS_ENTRY(kFirst28, 32, false) NNFUSE_MOMENTS_ENTRY(kTypical14, 64, false)
            NNFUSE_MOMENTS_ENTRY(kSame3x3C3, 5, true) NNFUSE_MOMENTS_ENTRY(kSame5x5S2, 17, false)
                NNFUSE_MOMENTS_ENTRY(kValid5x5S2, 17, true) NNFUSE_MOMENTS_ENTRY(kWideBand, 100, false)};
#undef NNFUSE_MOMENTS_ENTRY
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "hwy/aligned_allocator.h"
#include "runtime/kernels/bn_chunked.hpp"
#include "tests/runtime/conv_kernels/winograd_reference.hpp"

namespace nnfuse::test {
namespace {

HWY_EXPORT(ConvMomentsKernels);

MomentsTable Table() { return HWY_DYNAMIC_DISPATCH(ConvMomentsKernels)(); }

// Vector-aligned floats, as the Net's chunk records are, each set to `fill`.
hwy::AlignedFreeUniquePtr<float[]> AlignedFloats(std::size_t count, float fill) {
    auto floats = hwy::AllocateAligned<float>(count);
    std::fill(floats.get(), floats.get() + count, fill);
    return floats;
}

TEST_CASE("Conv2dForwardWithMoments: Conv2dForward's bits or Winograd's, and the chunk's mean and variance per filter",
          "[conv][forward][bn]") {
    const MomentsTable table = Table();
    const double u = kUnitRoundoff;
    for (std::size_t c = 0; c < table.count; ++c) {
        const ConvShape s = table.entries[c].shape;
        for (const std::size_t rows : {1, 2, 3}) {
            INFO(Describe(s, rows));
            const ConvProblem p = MakeConvProblem(s, rows, static_cast<std::uint32_t>(300 * c + rows));
            const std::size_t values = rows * s.OutputPixels(), filters = s.filters;
            const float* bias = s.use_bias ? p.bias.data() : nullptr;
            const bool winograd = kernels::forward_is_winograd(s.g, s.filters);
            const std::vector<double> z =
                ConvPreActivations(s, rows, ToDouble(p.x), ToDouble(p.kernel), ToDouble(p.bias)).z;
            const std::vector<double> magnitude =
                winograd ? WinogradMagnitudes(s.g, s.filters, rows, ToDouble(p.x), ToDouble(p.kernel))
                         : std::vector<double>();
            ForEachTargetTable(Table, [&](const MomentsTable& kernels) {
                const MomentsEntry& e = kernels.entries[c];
                const auto x = GuardedArray<float>::CopyOf(p.x);
                const auto kernel = GuardedArray<float>::CopyOf(p.kernel);
                GuardedArray<float> y(rows * s.OutputSize(), kUnwritten), plain_y(rows * s.OutputSize(), kUnwritten);
                GuardedArray<float> forward_kernel(kernels::forward_kernel_floats(s.g, filters), kUnwritten);
                e.prepare(kernel.data(), forward_kernel.data());
                const auto record = AlignedFloats(kernels::bn_chunk_moments_floats(filters), kUnwritten);
                e.with_moments(x.data(), rows, forward_kernel.data(), bias, y.data(), record.get());
                if (winograd) {
                    CheckWithin(
                        "y", y.size(), [&](std::size_t i) { return y[i]; }, [&](std::size_t i) { return z[i]; },
                        [&](std::size_t i) {
                            return WinogradTolerance(s.g.channels, magnitude[i], bias ? bias[i % filters] : 0.0f);
                        });
                } else {
                    e.forward(x.data(), rows, kernel.data(), bias, plain_y.data());
                    std::size_t differ = 0;
                    for (std::size_t i = 0; i < y.size(); ++i)
                        differ += std::memcmp(&y[i], &plain_y[i], sizeof(float)) != 0;
                    CHECK(differ == 0);
                }

                // The record merged as one chunk, and BnChunkMoments' record of the same y for comparison.
                const auto plain_record = AlignedFloats(kernels::bn_chunk_moments_floats(filters), kUnwritten);
                e.chunk_moments(y.data(), values, plain_record.get());
                std::vector<float> mean(filters), var(filters), inv_std(filters);
                std::vector<float> plain_mean(filters), plain_var(filters), plain_inv_std(filters);
                e.merge(record.get(), values, values, 1e-3f, mean.data(), var.data(), inv_std.data());
                e.merge(plain_record.get(), values, values, 1e-3f, plain_mean.data(), plain_var.data(),
                        plain_inv_std.data());
                for (std::size_t f = 0; f < filters; ++f) {
                    double sum = 0.0, largest = 0.0;
                    for (std::size_t i = 0; i < values; ++i) {
                        sum += y[i * filters + f];
                        largest = std::max(largest, std::abs(static_cast<double>(y[i * filters + f])));
                    }
                    const double mean_ref = sum / static_cast<double>(values);
                    double squares = 0.0, spread = 0.0;
                    for (std::size_t i = 0; i < values; ++i) {
                        const double deviation = y[i * filters + f] - mean_ref;
                        squares += deviation * deviation;
                        spread = std::max(spread, std::abs(deviation));
                    }
                    const double var_ref = squares / static_cast<double>(values);
                    const double mean_tolerance = 4 * 128 * u * largest + kSmallestNormal;
                    const double var_tolerance = 8 * 128 * u * (var_ref + spread * spread) + kSmallestNormal;
                    INFO("filter " << f << ": mean " << mean_ref << ", variance " << var_ref);
                    CHECK(std::abs(mean[f] - mean_ref) <= mean_tolerance);
                    CHECK(std::abs(var[f] - var_ref) <= var_tolerance);
                    CHECK(std::abs(plain_mean[f] - mean_ref) <= mean_tolerance);
                    CHECK(std::abs(plain_var[f] - var_ref) <= var_tolerance);
                }
                // The padding lanes of each of the record's three arrays hold zeros, as the merge expects.
                for (std::size_t a = 0; a < 3; ++a) {
                    for (std::size_t f = filters; f < kernels::bn_moments_stride(filters); ++f) {
                        CHECK(record.get()[a * kernels::bn_moments_stride(filters) + f] == 0.0f);
                    }
                }
            });
        }
    }
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
