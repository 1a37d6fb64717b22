// BnChunkMoments, BnMergeChunkMoments and BnNormalizeRows (runtime/kernels/bn_chunked-inl.h) on every compiled SIMD
// target: the statistics of a batch cut into chunks against the double-precision reference (bn_reference.hpp), with
// the tolerances of test_bn_kernels.cpp, and a batch of one chunk bit for bit against BnForwardTrain, whose
// single-block path the contract says it reproduces.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/bn_kernels/test_bn_chunked.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <array>
#include <cstddef>
#include <iterator>
#include <utility>

#include "hwy/highway.h"
#include "runtime/kernels/batch_norm-inl.h"
#include "runtime/kernels/bn_chunked-inl.h"

#ifndef NNFUSE_TEST_BN_CHUNKED_FEATURES  // this file is compiled once per target; the list exists once
#define NNFUSE_TEST_BN_CHUNKED_FEATURES
namespace nnfuse::test {
// Below, at and above the vector widths; 1500 is two panels of the merge (a full one of 1024 features, then 476).
inline constexpr std::size_t chunked_feature_counts[] = {7, 37, 784, 1500};
}  // namespace nnfuse::test
#endif

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::chunked::HWY_NAMESPACE {

namespace kernels = nnfuse::kernels::HWY_NAMESPACE;

// The whole chunked forward of one batch, as the generated code runs it (chunks in any order would do).
template <std::size_t I>
void ChunkedForwardAt(const float* x, std::size_t rows, std::size_t chunk_rows, float epsilon, float* moments,
                      float* batch_mean, float* batch_var, float* inv_std, float* xhat) {
    constexpr std::size_t c = chunked_feature_counts[I];
    for (std::size_t begin = 0, chunk = 0; begin < rows; begin += chunk_rows, ++chunk) {
        kernels::BnChunkMoments<c>(x + begin * c, std::min(chunk_rows, rows - begin),
                                   moments + chunk * nnfuse::kernels::bn_chunk_moments_floats(c));
    }
    kernels::BnMergeChunkMoments<c>(moments, rows, chunk_rows, epsilon, batch_mean, batch_var, inv_std);
    for (std::size_t begin = rows; begin > 0;) {  // last chunk first: nothing may depend on the order
        const std::size_t first = (begin - 1) / chunk_rows * chunk_rows;
        kernels::BnNormalizeRows<c>(x + first * c, begin - first, batch_mean, inv_std, xhat + first * c);
        begin = first;
    }
}

template <std::size_t I>
void ForwardTrainAt(const float* x, std::size_t rows, float epsilon, float* batch_mean, float* batch_var,
                    float* inv_std, float* xhat) {
    constexpr std::size_t c = chunked_feature_counts[I];
    kernels::BnForwardTrain<c, activation_kind::linear, false, false>(x, rows, epsilon, nullptr, nullptr, batch_mean,
                                                                      batch_var, inv_std, xhat);
}

template <std::size_t... I>
constexpr auto ChunkedForwardTable(std::index_sequence<I...>) {
    return std::array{&ChunkedForwardAt<I>...};
}
template <std::size_t... I>
constexpr auto ForwardTrainTable(std::index_sequence<I...>) {
    return std::array{&ForwardTrainAt<I>...};
}

inline constexpr std::size_t kConfigs = std::size(chunked_feature_counts);

void ChunkedForward(std::size_t config, const float* x, std::size_t rows, std::size_t chunk_rows, float epsilon,
                    float* moments, float* batch_mean, float* batch_var, float* inv_std, float* xhat) {
    static constexpr auto table = ChunkedForwardTable(std::make_index_sequence<kConfigs>());
    table[config](x, rows, chunk_rows, epsilon, moments, batch_mean, batch_var, inv_std, xhat);
}

void ForwardTrain(std::size_t config, const float* x, std::size_t rows, float epsilon, float* batch_mean,
                  float* batch_var, float* inv_std, float* xhat) {
    static constexpr auto table = ForwardTrainTable(std::make_index_sequence<kConfigs>());
    table[config](x, rows, epsilon, batch_mean, batch_var, inv_std, xhat);
}

std::int64_t CompiledTarget() { return HWY_TARGET; }

}  // namespace nnfuse::test::chunked::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "hwy/aligned_allocator.h"
#include "runtime/kernels/bn_chunked.hpp"
#include "tests/runtime/bn_kernels/bn_reference.hpp"
#include "tests/support/simd_targets.hpp"

namespace nnfuse::test::chunked {

HWY_EXPORT(ChunkedForward);
HWY_EXPORT(ForwardTrain);
HWY_EXPORT(CompiledTarget);

namespace {

constexpr float keras_epsilon = 1e-3f;
// test_bn_kernels.cpp's tolerances: mean 1e-6 of (|mean| + std), variance and 1/sqrt 1e-5 relative, xhat 2e-5 of
// max(1, |xhat|).
constexpr double mean_tolerance = 1e-6;
constexpr double statistic_tolerance = 1e-5;
constexpr double output_tolerance = 2e-5;

// Runs body() once per SIMD target compiled here and supported by this CPU, with dispatch pinned to it.
template <class Body>
void for_each_target(Body&& body) {
    for_each_simd_target([] { return HWY_DYNAMIC_DISPATCH(CompiledTarget)(); }, body);
}

// Each feature with its own offset and spread; `offset` moves them all (a large one tests the merge's precision).
std::vector<float> make_x(std::size_t rows, std::size_t features, float offset, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    std::uniform_real_distribution<float> shift(-3.0f, 3.0f), spread(0.5f, 2.0f);
    std::vector<float> feature_offset(features), feature_spread(features);
    for (std::size_t c = 0; c < features; ++c) {
        feature_offset[c] = offset + shift(rng);
        feature_spread[c] = spread(rng);
    }
    std::vector<float> x(rows * features);
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = feature_offset[i % features] + feature_spread[i % features] * normal(rng);
    return x;
}

struct forward_out {
    std::vector<float> mean, var, inv_std, xhat;
};

forward_out chunked_forward(std::size_t config, const std::vector<float>& x, std::size_t rows, std::size_t chunk_rows) {
    const std::size_t features = chunked_feature_counts[config];
    const std::size_t chunks = (rows + chunk_rows - 1) / chunk_rows;
    // Aligned as the generated Net's arena is; NaN where nothing should be read before it is written.
    const std::size_t moment_floats = chunks * kernels::bn_chunk_moments_floats(features);
    auto moments = hwy::AllocateAligned<float>(moment_floats);
    std::fill_n(moments.get(), moment_floats, std::nanf(""));
    forward_out out{std::vector<float>(features), std::vector<float>(features), std::vector<float>(features),
                    std::vector<float>(x.size())};
    HWY_DYNAMIC_DISPATCH(ChunkedForward)
    (config, x.data(), rows, chunk_rows, keras_epsilon, moments.get(), out.mean.data(), out.var.data(),
     out.inv_std.data(), out.xhat.data());
    return out;
}

}  // namespace

TEST_CASE("chunked BN statistics and xhat match the double reference on every target", "[bn][chunked]") {
    struct shape {
        std::size_t rows, chunk_rows;
    };
    // One chunk (2, 3, 64 rows), a short last chunk (65, 200), whole chunks (256), many small ones (257 in 5s).
    const shape shapes[] = {{2, 64}, {3, 64}, {64, 64}, {65, 64}, {200, 64}, {256, 64}, {257, 5}};
    for_each_target([&] {
        for (std::size_t config = 0; config < std::size(chunked_feature_counts); ++config) {
            const std::size_t features = chunked_feature_counts[config];
            for (const shape s : shapes) {
                for (const float offset : {0.0f, 1000.0f}) {
                    INFO(features << " features, " << s.rows << " rows in chunks of " << s.chunk_rows << ", offset "
                                  << offset);
                    const auto x = make_x(s.rows, features, offset, static_cast<std::uint32_t>(features + s.rows));
                    const bn_train_ref ref = forward_train_ref(x, s.rows, features, keras_epsilon, nullptr, nullptr,
                                                               activation_kind::linear);
                    const forward_out out = chunked_forward(config, x, s.rows, s.chunk_rows);
                    CHECK(worst_ratio(out.mean, ref.mean, mean_tolerance, [&](std::size_t c) {
                              return std::abs(ref.mean[c]) + std::sqrt(ref.var[c]);
                          }) <= 1.0);
                    CHECK(worst_ratio(out.var, ref.var, statistic_tolerance,
                                      [&](std::size_t c) { return ref.var[c]; }) <= 1.0);
                    CHECK(worst_ratio(out.inv_std, ref.inv_std, statistic_tolerance,
                                      [&](std::size_t c) { return ref.inv_std[c]; }) <= 1.0);
                    // xhat is (x - mean) * inv_std with the mean rounded to float: half an ulp of it, times inv_std,
                    // comes on top (it matters only with the large offset).
                    CHECK(worst_ratio(out.xhat, ref.y, output_tolerance, [&](std::size_t i) {
                              const std::size_t c = i % features;
                              const float mean = static_cast<float>(ref.mean[c]);
                              const double half_ulp = 0.5 * (std::nextafter(mean, INFINITY) - mean);
                              return std::max(1.0, std::abs(ref.y[i])) + half_ulp * ref.inv_std[c] / output_tolerance;
                          }) <= 1.0);
                }
            }
        }
    });
}

TEST_CASE("a batch of one chunk gives BnForwardTrain's values bit for bit", "[bn][chunked]") {
    for_each_target([&] {
        for (std::size_t config = 0; config < std::size(chunked_feature_counts); ++config) {
            const std::size_t features = chunked_feature_counts[config];
            for (const std::size_t rows : {2, 31, 64}) {
                INFO(features << " features, " << rows << " rows");
                const auto x = make_x(rows, features, 0.5f, static_cast<std::uint32_t>(3 * features + rows));
                const forward_out chunked = chunked_forward(config, x, rows, 64);
                forward_out whole{std::vector<float>(features), std::vector<float>(features),
                                  std::vector<float>(features), std::vector<float>(x.size())};
                HWY_DYNAMIC_DISPATCH(ForwardTrain)
                (config, x.data(), rows, keras_epsilon, whole.mean.data(), whole.var.data(), whole.inv_std.data(),
                 whole.xhat.data());
                CHECK(chunked.mean == whole.mean);
                CHECK(chunked.var == whole.var);
                CHECK(chunked.inv_std == whole.inv_std);
                CHECK(chunked.xhat == whole.xhat);
            }
        }
    });
}

}  // namespace nnfuse::test::chunked

#endif  // HWY_ONCE
