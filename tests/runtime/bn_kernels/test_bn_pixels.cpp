// BnChunkMomentsFromPixels and BnNormalizePixelRows (runtime/kernels/bn_pixels-inl.h) on every compiled SIMD target:
// a batch of uint8 rows picked from a set, cut into chunks and merged by BnMergeChunkMoments, against a
// double-precision reference of the same pixels times the scale, with the tolerances of test_bn_chunked.cpp.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/bn_kernels/test_bn_pixels.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <utility>

#include "hwy/highway.h"
#include "runtime/kernels/bn_chunked-inl.h"
#include "runtime/kernels/bn_pixels-inl.h"

#ifndef NNFUSE_TEST_BN_PIXELS_FEATURES  // this file is compiled once per target; the list exists once
#define NNFUSE_TEST_BN_PIXELS_FEATURES
namespace nnfuse::test {
// Below the vector widths, between them, and the reference model's 784 (whole passes of four vectors and one more).
inline constexpr std::size_t pixel_feature_counts[] = {7, 37, 784};
}  // namespace nnfuse::test
#endif

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::pixels::HWY_NAMESPACE {

namespace kernels = nnfuse::kernels::HWY_NAMESPACE;

// The statistics and xhat of the batch `samples` of `pixels`, as the generated code runs them.
template <std::size_t I>
void PixelForwardAt(const std::uint8_t* pixels, const std::uint32_t* samples, std::size_t rows, std::size_t chunk_rows,
                    float scale, float epsilon, float* moments, float* batch_mean, float* batch_var, float* inv_std,
                    float* xhat) {
    constexpr std::size_t c = pixel_feature_counts[I];
    for (std::size_t begin = 0, chunk = 0; begin < rows; begin += chunk_rows, ++chunk) {
        kernels::BnChunkMomentsFromPixels<c>(pixels, samples + begin, std::min(chunk_rows, rows - begin), scale,
                                             moments + chunk * nnfuse::kernels::bn_chunk_moments_floats(c));
    }
    kernels::BnMergeChunkMoments<c>(moments, rows, chunk_rows, epsilon, batch_mean, batch_var, inv_std);
    for (std::size_t begin = 0; begin < rows; begin += chunk_rows) {
        kernels::BnNormalizePixelRows<c>(pixels, samples + begin, std::min(chunk_rows, rows - begin), scale, batch_mean,
                                         inv_std, xhat + begin * c);
    }
}

template <std::size_t... I>
constexpr auto PixelForwardTable(std::index_sequence<I...>) {
    return std::array{&PixelForwardAt<I>...};
}

void PixelForward(std::size_t config, const std::uint8_t* pixels, const std::uint32_t* samples, std::size_t rows,
                  std::size_t chunk_rows, float scale, float epsilon, float* moments, float* batch_mean,
                  float* batch_var, float* inv_std, float* xhat) {
    static constexpr auto table = PixelForwardTable(std::make_index_sequence<std::size(pixel_feature_counts)>());
    table[config](pixels, samples, rows, chunk_rows, scale, epsilon, moments, batch_mean, batch_var, inv_std, xhat);
}

std::int64_t CompiledTarget() { return HWY_TARGET; }

}  // namespace nnfuse::test::pixels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "hwy/aligned_allocator.h"
#include "runtime/kernels/bn_chunked.hpp"
#include "tests/runtime/bn_kernels/bn_reference.hpp"
#include "tests/support/simd_targets.hpp"

namespace nnfuse::test::pixels {

HWY_EXPORT(PixelForward);
HWY_EXPORT(CompiledTarget);

namespace {

constexpr float keras_epsilon = 1e-3f;
constexpr float pixel_scale = 1.0f / 255.0f;
constexpr double mean_tolerance = 1e-6;
constexpr double statistic_tolerance = 1e-5;
constexpr double output_tolerance = 2e-5;

// A set of `count` rows: feature 0 always 255 and feature 1 always 0 (no variance at either end of the range),
// the others spread over their own part of [0, 255].
std::vector<std::uint8_t> make_set(std::size_t count, std::size_t features, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int> low(features), span(features);
    for (std::size_t c = 0; c < features; ++c) {
        low[c] = static_cast<int>(rng() % 200);
        span[c] = 1 + static_cast<int>(rng() % static_cast<unsigned>(256 - low[c]));
    }
    std::vector<std::uint8_t> set(count * features);
    for (std::size_t i = 0; i < set.size(); ++i) {
        const std::size_t c = i % features;
        const int value = c == 0 ? 255 : c == 1 ? 0 : low[c] + static_cast<int>(rng() % static_cast<unsigned>(span[c]));
        set[i] = static_cast<std::uint8_t>(value);
    }
    return set;
}

// Mean, biased variance and 1/sqrt(var + epsilon) of x = pixel * scale per feature, and xhat of the float pixel
// values the kernels see, all in double from the exact products.
struct pixel_ref {
    std::vector<double> mean, var, inv_std, xhat;
};

pixel_ref reference(const std::vector<std::uint8_t>& set, const std::vector<std::uint32_t>& samples,
                    std::size_t features, float scale, float epsilon) {
    const std::size_t rows = samples.size();
    pixel_ref ref{std::vector<double>(features), std::vector<double>(features), std::vector<double>(features),
                  std::vector<double>(rows * features)};
    const auto x = [&](std::size_t r, std::size_t c) { return set[samples[r] * features + c] * double{scale}; };
    for (std::size_t c = 0; c < features; ++c) {
        double sum = 0.0, sum_sq = 0.0;
        for (std::size_t r = 0; r < rows; ++r) sum += x(r, c);
        ref.mean[c] = sum / static_cast<double>(rows);
        for (std::size_t r = 0; r < rows; ++r) sum_sq += (x(r, c) - ref.mean[c]) * (x(r, c) - ref.mean[c]);
        ref.var[c] = sum_sq / static_cast<double>(rows);
        ref.inv_std[c] = 1.0 / std::sqrt(ref.var[c] + double{epsilon});
        for (std::size_t r = 0; r < rows; ++r) ref.xhat[r * features + c] = (x(r, c) - ref.mean[c]) * ref.inv_std[c];
    }
    return ref;
}

}  // namespace

TEST_CASE("BN statistics and xhat straight from uint8 pixels match the double reference on every target",
          "[bn][pixels]") {
    struct shape {
        std::size_t rows, chunk_rows;
    };
    const shape shapes[] = {{2, 64}, {3, 64}, {64, 64}, {65, 64}, {200, 64}, {257, 5}};
    constexpr std::size_t set_rows = 300;
    for_each_simd_target(
        [] { return HWY_DYNAMIC_DISPATCH(CompiledTarget)(); },
        [&] {
            for (std::size_t config = 0; config < std::size(pixel_feature_counts); ++config) {
                const std::size_t features = pixel_feature_counts[config];
                const auto set = make_set(set_rows, features, static_cast<std::uint32_t>(features));
                for (const shape s : shapes) {
                    INFO(features << " features, " << s.rows << " rows in chunks of " << s.chunk_rows);
                    // Rows picked at random from the set, some more than once, as a shuffled epoch's are not.
                    std::mt19937 rng(static_cast<std::uint32_t>(s.rows));
                    std::vector<std::uint32_t> samples(s.rows);
                    for (auto& sample : samples) sample = static_cast<std::uint32_t>(rng() % set_rows);
                    const pixel_ref ref = reference(set, samples, features, pixel_scale, keras_epsilon);

                    const std::size_t chunks = (s.rows + s.chunk_rows - 1) / s.chunk_rows;
                    const std::size_t moment_floats = chunks * nnfuse::kernels::bn_chunk_moments_floats(features);
                    auto moments = hwy::AllocateAligned<float>(moment_floats);
                    std::fill_n(moments.get(), moment_floats, std::nanf(""));
                    std::vector<float> mean(features), var(features), inv_std(features), xhat(s.rows * features);
                    HWY_DYNAMIC_DISPATCH(PixelForward)
                    (config, set.data(), samples.data(), s.rows, s.chunk_rows, pixel_scale, keras_epsilon,
                     moments.get(), mean.data(), var.data(), inv_std.data(), xhat.data());

                    CHECK(worst_ratio(mean, ref.mean, mean_tolerance, [&](std::size_t c) {
                              return std::abs(ref.mean[c]) + std::sqrt(ref.var[c]);
                          }) <= 1.0);
                    // Variance: relative to itself; of the constant features (exactly 0), no more than float's rounding
                    // of their mean leaves.
                    CHECK(worst_ratio(var, ref.var, statistic_tolerance,
                                      [&](std::size_t c) { return std::max(ref.var[c], 1e-9); }) <= 1.0);
                    CHECK(worst_ratio(inv_std, ref.inv_std, statistic_tolerance,
                                      [&](std::size_t c) { return ref.inv_std[c]; }) <= 1.0);
                    // xhat: the mean and each pixel times the scale rounded to float, half an ulp each, times inv_std,
                    // come on top (xhat of a feature without variance is (x - mean) / sqrt(epsilon): nothing but that).
                    CHECK(worst_ratio(xhat, ref.xhat, output_tolerance, [&](std::size_t i) {
                              const std::size_t c = i % features;
                              const float m = static_cast<float>(ref.mean[c]);
                              const double half_ulp = 0.5 * (std::nextafter(m, INFINITY) - m);
                              return std::max(1.0, std::abs(ref.xhat[i])) +
                                     2 * half_ulp * ref.inv_std[c] / output_tolerance;
                          }) <= 1.0);
                }
            }
        });
}

}  // namespace nnfuse::test::pixels

#endif  // HWY_ONCE
