// NormalizationForward on every compiled SIMD target: against a double reference written here from Keras's formula
// (x - mean) / max(sqrt(variance), 1e-7), and bit for bit against the scalar float loop the kernel's contract names
// (what the exported predict header computes). Variances include 0 and values below epsilon^2, where the
// denominator is epsilon, and feature counts below, at and above every vector width.
//
// Tolerance: the kernel rounds x - mean, sqrt and the quotient once each, and its epsilon is 1e-7 rounded to
// float: |y - y_ref| <= 4 u |y_ref| (u float's unit roundoff).

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/kernels/test_normalization.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/normalization-inl.h"
#include "tests/runtime/dense_kernels/dense_test_support.hpp"

// Declared once, though foreach_target includes this file once per target.
#ifndef NNFUSE_TESTS_NORMALIZATION_TABLE_
#define NNFUSE_TESTS_NORMALIZATION_TABLE_
namespace nnfuse::test {

using NormalizationFn = void (*)(const float* x, std::size_t rows, const float* mean, const float* variance, float* y);

struct NormalizationEntry {
    std::size_t features;
    NormalizationFn forward;
};

struct NormalizationTable {
    std::int64_t target;
    const NormalizationEntry* entries;
    std::size_t count;
};

}  // namespace nnfuse::test
#endif  // NNFUSE_TESTS_NORMALIZATION_TABLE_

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

template <std::size_t Features>
constexpr NormalizationEntry Entry() {
    return {Features, &kernels::HWY_NAMESPACE::NormalizationForward<Features>};
}

NormalizationTable NormalizationKernels() {
    // Below, at and above every vector width, odd sizes, issue 18's 30 features and the reference model's 784.
    static const NormalizationEntry entries[] = {Entry<1>(),  Entry<7>(),  Entry<8>(),  Entry<16>(),
                                                 Entry<17>(), Entry<30>(), Entry<37>(), Entry<784>()};
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse::test {
namespace {

HWY_EXPORT(NormalizationKernels);

struct Statistics {
    std::vector<float> mean, variance;
};

// Means of both signs; variances spread over six decades, with every fifth 0 and every seventh below epsilon^2.
Statistics RandomStatistics(std::size_t features, std::uint32_t seed) {
    std::mt19937 random(seed);
    std::uniform_real_distribution<float> mean(-50.0f, 50.0f), log_variance(-4.0f, 2.0f);
    Statistics s;
    for (std::size_t c = 0; c < features; ++c) {
        s.mean.push_back(mean(random));
        float v = std::pow(10.0f, log_variance(random));
        if (c % 5 == 1) v = 0.0f;
        if (c % 7 == 3) v = 3e-16f;
        s.variance.push_back(v);
    }
    return s;
}

std::vector<float> RandomRows(std::size_t count, std::uint32_t seed) {
    std::mt19937 random(seed);
    std::uniform_real_distribution<float> value(-80.0f, 80.0f);
    std::vector<float> x(count);
    for (float& v : x) v = value(random);
    return x;
}

std::vector<float> Run(NormalizationFn forward, const std::vector<float>& x, std::size_t rows, const Statistics& s) {
    const auto input = GuardedArray<float>::CopyOf(x);
    const auto mean = GuardedArray<float>::CopyOf(s.mean);
    const auto variance = GuardedArray<float>::CopyOf(s.variance);
    GuardedArray<float> output(x.size(), kUnwritten);
    forward(input.data(), rows, mean.data(), variance.data(), output.data());
    return output.ToVector();
}

template <class Body>
void ForEachTargetWithKernels(const Body& body) {
    ForEachTargetTable([] { return HWY_DYNAMIC_DISPATCH(NormalizationKernels)(); }, body);
}

TEST_CASE("NormalizationForward matches Keras's formula in double on every target", "[normalization]") {
    const NormalizationTable sizes = HWY_DYNAMIC_DISPATCH(NormalizationKernels)();
    for (std::size_t k = 0; k < sizes.count; ++k) {
        const std::size_t features = sizes.entries[k].features;
        for (const std::size_t rows : {1, 3, 64}) {
            INFO("Features " << features << ", rows " << rows);
            const Statistics s = RandomStatistics(features, static_cast<std::uint32_t>(k + 1));
            const std::vector<float> x = RandomRows(rows * features, static_cast<std::uint32_t>(100 * k + rows));
            std::vector<double> expected(x.size());
            for (std::size_t r = 0; r < rows; ++r) {
                for (std::size_t c = 0; c < features; ++c) {
                    const double denominator = std::max(std::sqrt(static_cast<double>(s.variance[c])), 1e-7);
                    expected[r * features + c] =
                        (static_cast<double>(x[r * features + c]) - static_cast<double>(s.mean[c])) / denominator;
                }
            }
            ForEachTargetWithKernels([&](const NormalizationTable& table) {
                const std::vector<float> y = Run(table.entries[k].forward, x, rows, s);
                CheckWithin(
                    "y", y.size(), [&](std::size_t i) { return y[i]; }, [&](std::size_t i) { return expected[i]; },
                    [&](std::size_t i) { return 4 * kUnitRoundoff * std::abs(expected[i]); });
            });
        }
    }
}

TEST_CASE("NormalizationForward gives the bits of the scalar float loop on every target", "[normalization]") {
    const NormalizationTable sizes = HWY_DYNAMIC_DISPATCH(NormalizationKernels)();
    for (std::size_t k = 0; k < sizes.count; ++k) {
        const std::size_t features = sizes.entries[k].features, rows = 5;
        INFO("Features " << features);
        const Statistics s = RandomStatistics(features, static_cast<std::uint32_t>(7 * k + 3));
        const std::vector<float> x = RandomRows(rows * features, static_cast<std::uint32_t>(k));
        std::vector<float> scalar(x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            const std::size_t c = i % features;
            scalar[i] = (x[i] - s.mean[c]) / std::max(std::sqrt(s.variance[c]), 1e-7f);
        }
        ForEachTargetWithKernels([&](const NormalizationTable& table) {
            const std::vector<float> y = Run(table.entries[k].forward, x, rows, s);
            std::size_t different = 0;
            for (std::size_t i = 0; i < y.size(); ++i) different += std::memcmp(&y[i], &scalar[i], 4) != 0 ? 1 : 0;
            CHECK(different == 0);
        });
    }
}

TEST_CASE("an unadapted NormalizationForward (mean 0, variance 1) is the identity", "[normalization]") {
    const std::size_t features = 17, rows = 4;
    const Statistics identity{std::vector<float>(features, 0.0f), std::vector<float>(features, 1.0f)};
    const std::vector<float> x = RandomRows(rows * features, 9);
    ForEachTargetWithKernels([&](const NormalizationTable& table) {
        REQUIRE(table.entries[4].features == features);
        CHECK(Run(table.entries[4].forward, x, rows, identity) == x);
    });
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
