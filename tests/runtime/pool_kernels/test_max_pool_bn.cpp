// MaxPool2dForwardBnInput / MaxPool2dBackwardBnInput (pooling_bn_input-inl.h) on every compiled SIMD target: the same
// bits as BnNormalizeChunk followed by the plain max pool of the same target (ties included, so that the routing to a
// window's first maximum is exercised); against a double-precision reference written from the contract, with negative
// gammas (which reverse the order of the normalized values against x's: a pool comparing x would fail); rows split
// into calls; rows == 0. Cases: a tiling pool, an overlapping one with same padding and a strided valid one, at 3, 17
// and 64 channels, for relu with gamma and beta and for a linear BN with neither.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/pool_kernels/test_max_pool_bn.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cstring>
#include <random>

#include "hwy/highway.h"
#include "runtime/kernels/bn_chunk_training-inl.h"
#include "runtime/kernels/pooling-inl.h"
#include "runtime/kernels/pooling_bn_input-inl.h"
#include "tests/runtime/pool_kernels/pool_test_support.hpp"

#ifndef NNFUSE_TEST_MAX_POOL_BN_CASES_
#define NNFUSE_TEST_MAX_POOL_BN_CASES_
namespace nnfuse::test {

struct BnPoolCase {
    window_geometry geometry;
    activation_kind act;
    bool scale, center;
};

constexpr window_geometry WithChannels(window_geometry g, std::size_t channels) {
    g.channels = channels;
    return g;
}

inline constexpr BnPoolCase kBnPoolCases[] = {
    {WithChannels(kShapes[0], 3), activation_kind::relu, true, true},
    {WithChannels(kShapes[0], 64), activation_kind::relu, true, true},
    {WithChannels(kShapes[3], 17), activation_kind::relu, true, true},
    {WithChannels(kShapes[2], 3), activation_kind::relu, true, true},
    {WithChannels(kShapes[0], 17), activation_kind::linear, false, false},
    {WithChannels(kShapes[3], 3), activation_kind::linear, false, false},
    {WithChannels(kShapes[2], 64), activation_kind::linear, false, false},
};
inline constexpr std::size_t kBnPoolCaseCount = sizeof(kBnPoolCases) / sizeof(kBnPoolCases[0]);

// The BN's constants, each `channels` floats; gamma and beta nullptr where the case has none.
struct BnConstants {
    const float *mean, *inv_std, *gamma, *beta;
};

struct BnPoolEntry {
    void (*forward)(const float* x, BnConstants bn, std::size_t rows, float* y);
    void (*backward)(const float* x, BnConstants bn, const float* y, const float* dy, std::size_t rows, float* dx);
    // The composition the contract names: v = BnNormalizeChunk(x), then the plain max pool, forward and backward.
    void (*normalize)(const float* x, BnConstants bn, std::size_t value_rows, float* v);
    void (*plain_forward)(const float* v, std::size_t rows, float* y);
    void (*plain_backward)(const float* v, const float* y, const float* dy, std::size_t rows, float* dx);
};

struct BnPoolTable {
    std::int64_t target;
    const BnPoolEntry* entries;
    std::size_t count;
};

}  // namespace nnfuse::test
#endif  // NNFUSE_TEST_MAX_POOL_BN_CASES_

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

template <std::size_t I>
BnPoolEntry EntryAt() {
    namespace k = kernels::HWY_NAMESPACE;
    static constexpr BnPoolCase c = kBnPoolCases[I];
    static constexpr window_geometry g = c.geometry;
    return {[](const float* x, BnConstants bn, std::size_t rows, float* y) {
                k::MaxPool2dForwardBnInput<g, c.act, c.scale, c.center>(x, bn.mean, bn.inv_std, bn.gamma, bn.beta, rows,
                                                                        y);
            },
            [](const float* x, BnConstants bn, const float* y, const float* dy, std::size_t rows, float* dx) {
                k::MaxPool2dBackwardBnInput<g, c.act, c.scale, c.center>(x, bn.mean, bn.inv_std, bn.gamma, bn.beta, y,
                                                                         dy, rows, dx);
            },
            [](const float* x, BnConstants bn, std::size_t value_rows, float* v) {
                k::BnNormalizeChunk<g.channels, c.act, c.scale, c.center>(x, value_rows, bn.mean, bn.inv_std, bn.gamma,
                                                                          bn.beta, v);
            },
            &k::MaxPool2dForward<g>, &k::MaxPool2dBackward<g>};
}

template <std::size_t... kIndex>
BnPoolTable Table(std::index_sequence<kIndex...>) {
    static const BnPoolEntry entries[] = {EntryAt<kIndex>()...};
    return {HWY_TARGET, entries, sizeof...(kIndex)};
}

BnPoolTable MaxPoolBnKernels() { return Table(std::make_index_sequence<kBnPoolCaseCount>()); }

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse::test {
namespace {

HWY_EXPORT(MaxPoolBnKernels);

BnPoolTable Kernels() { return HWY_DYNAMIC_DISPATCH(MaxPoolBnKernels)(); }

std::size_t InputSize(const window_geometry& g) { return g.height * g.width * g.channels; }

// Random batch statistics: mean in [-1, 1], inv_std in [0.5, 2], gamma of either sign with |gamma| in [0.25, 2]
// (every other channel negative), beta in [-1, 1] (or zero_beta); gamma and beta left out where the case has none.
struct Statistics {
    std::vector<float> mean, inv_std, gamma, beta;
    bool scale, center;

    Statistics(const BnPoolCase& c, std::uint32_t seed, bool zero_beta = false) : scale(c.scale), center(c.center) {
        std::mt19937 random(seed);
        std::uniform_real_distribution<float> unit(0.0f, 1.0f);
        for (std::size_t i = 0; i < c.geometry.channels; ++i) {
            mean.push_back(2 * unit(random) - 1);
            inv_std.push_back(0.5f + 1.5f * unit(random));
            gamma.push_back((i % 2 == 0 ? -1.0f : 1.0f) * (0.25f + 1.75f * unit(random)));
            beta.push_back(zero_beta ? 0.0f : 2 * unit(random) - 1);
        }
    }
    BnConstants constants() const {
        return {mean.data(), inv_std.data(), scale ? gamma.data() : nullptr, center ? beta.data() : nullptr};
    }
    // The contract's v in double, and a bound on its float rounding (the product and the sum each rounded, the scale
    // inv_std * gamma too: 4 u of the terms' magnitude).
    double Normalized(float x, std::size_t channel, double* tolerance) const {
        const double s = static_cast<double>(inv_std[channel]) * (scale ? gamma[channel] : 1.0f);
        const double shift = center ? beta[channel] : 0.0f;
        const double product = (static_cast<double>(x) - mean[channel]) * s;
        *tolerance = 4 * kUnitRoundoff * (std::abs(product) + std::abs(shift));
        return product + shift;
    }
};

double Activated(activation_kind act, double v) { return act == activation_kind::relu ? std::max(v, 0.0) : v; }

std::vector<float> RunBnForward(const BnPoolEntry& kernels, const window_geometry& g, std::size_t rows,
                                const std::vector<float>& x, const Statistics& bn) {
    const auto input = GuardedArray<float>::CopyOf(x);
    GuardedArray<float> y(rows * OutputSize(g), kUnwritten);
    kernels.forward(input.data(), bn.constants(), rows, y.data());
    return y.ToVector();
}

std::vector<float> RunBnBackward(const BnPoolEntry& kernels, const window_geometry& g, std::size_t rows,
                                 const std::vector<float>& x, const Statistics& bn, const std::vector<float>& y,
                                 const std::vector<float>& dy) {
    const auto input = GuardedArray<float>::CopyOf(x), output = GuardedArray<float>::CopyOf(y);
    const auto gradient = GuardedArray<float>::CopyOf(dy);
    GuardedArray<float> dx(x.size(), kUnwritten);
    kernels.backward(input.data(), bn.constants(), output.data(), gradient.data(), rows, dx.data());
    return dx.ToVector();
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::string DescribeCase(const BnPoolCase& c, std::size_t rows) {
    return Describe(c.geometry, rows) + (c.act == activation_kind::relu ? ", relu" : ", linear") +
           (c.scale ? ", gamma" : "") + (c.center ? ", beta" : "");
}

TEST_CASE("Max pool applying a BN gives the bits of BnNormalizeChunk then the max pool, on every target",
          "[pool][bn]") {
    constexpr std::size_t kRows = 3;
    for (std::size_t i = 0; i < kBnPoolCaseCount; ++i) {
        const BnPoolCase& c = kBnPoolCases[i];
        const window_geometry& g = c.geometry;
        INFO(DescribeCase(c, kRows));
        const Statistics bn(c, static_cast<std::uint32_t>(600 + i));
        std::mt19937 random(static_cast<std::uint32_t>(700 + i));
        // A grid of 1/8: equal x in a window (ties), and under relu many values exactly 0.
        std::vector<float> x = RandomUniform(random, kRows * InputSize(g), 2.0);
        for (float& v : x) v = std::round(v * 8) / 8 + 0.0f;
        const std::vector<float> dy = RandomUniform(random, kRows * OutputSize(g), 1.0);
        ForEachTargetTable(Kernels, [&](const BnPoolTable& table) {
            REQUIRE(table.count == kBnPoolCaseCount);
            const BnPoolEntry& kernels = table.entries[i];
            std::vector<float> v(x.size());
            kernels.normalize(x.data(), bn.constants(), kRows * g.height * g.width, v.data());
            const std::vector<float> y = RunForward(kernels.plain_forward, g, kRows, v);
            CHECK(SameBits(RunBnForward(kernels, g, kRows, x, bn), y));
            CHECK(SameBits(RunBnBackward(kernels, g, kRows, x, bn, y, dy),
                           RunBackward(kernels.plain_backward, g, kRows, v, y, dy)));
        });
    }
}

TEST_CASE("Max pool applying a BN matches the double-precision reference, negative gammas included", "[pool][bn]") {
    constexpr std::size_t kRows = 2;
    for (std::size_t i = 0; i < kBnPoolCaseCount; ++i) {
        const BnPoolCase& c = kBnPoolCases[i];
        const window_geometry& g = c.geometry;
        INFO(DescribeCase(c, kRows));
        // beta = 0 and x on a grid of 1/8 that the means avoid by 1/16 or more: before the activation every value is
        // at least inv_std |gamma| / 16 away from 0, and values of distinct x at least inv_std |gamma| / 8 apart, far
        // beyond the rounding; equal x give equal values. So the float and double orders of a window agree, ties and
        // relu's zeros included.
        Statistics bn(c, static_cast<std::uint32_t>(800 + i), /*zero_beta=*/true);
        for (float& m : bn.mean) m = std::round(m * 8) / 8 + 1.0f / 16;
        const std::size_t in_count = kRows * InputSize(g);
        std::vector<float> x(in_count);
        for (std::size_t j = 0; j < in_count; ++j) x[j] = (static_cast<float>(j % 64) - 32) / 8;
        std::mt19937 random(static_cast<std::uint32_t>(900 + i));
        std::shuffle(x.begin(), x.end(), random);
        const std::vector<float> dy = RandomUniform(random, kRows * OutputSize(g), 1.0);
        // The reference: v in double, then the max pool of pool_test_support over it.
        std::vector<float> v_rounded(in_count);
        std::vector<double> v(in_count), v_tolerance(in_count);
        for (std::size_t j = 0; j < in_count; ++j) {
            v[j] = Activated(c.act, bn.Normalized(x[j], j % g.channels, &v_tolerance[j]));
            v_rounded[j] = static_cast<float>(v[j]);
        }
        const auto windows = Windows(g);
        Expected y{std::vector<double>(kRows * OutputSize(g)), std::vector<double>(kRows * OutputSize(g))};
        for (std::size_t r = 0; r < kRows; ++r) {
            for (std::size_t k = 0; k < windows.size(); ++k) {
                for (std::size_t ch = 0; ch < g.channels; ++ch) {
                    const std::size_t out = (r * windows.size() + k) * g.channels + ch;
                    y.value[out] = -std::numeric_limits<double>::infinity();
                    for (const std::size_t p : windows[k]) {
                        const std::size_t at = r * InputSize(g) + p * g.channels + ch;
                        if (v[at] > y.value[out]) y.value[out] = v[at], y.tolerance[out] = v_tolerance[at];
                    }
                }
            }
        }
        const Expected dx = MaxBackward(g, kRows, v_rounded, dy);
        ForEachTargetTable(Kernels, [&](const BnPoolTable& table) {
            const BnPoolEntry& kernels = table.entries[i];
            const std::vector<float> actual_y = RunBnForward(kernels, g, kRows, x, bn);
            CheckAgainst("y", actual_y, y);
            CheckAgainst("dx", RunBnBackward(kernels, g, kRows, x, bn, actual_y, dy), dx);
        });
    }
}

TEST_CASE("Max pool applying a BN gives the same bits whether rows come in one call or two", "[pool][bn]") {
    constexpr std::size_t kRows = 5, kFirst = 2;
    for (std::size_t i = 0; i < kBnPoolCaseCount; ++i) {
        const BnPoolCase& c = kBnPoolCases[i];
        const window_geometry& g = c.geometry;
        INFO(DescribeCase(c, kRows));
        const std::size_t in_size = InputSize(g), out_size = OutputSize(g);
        const Statistics bn(c, static_cast<std::uint32_t>(1000 + i));
        std::mt19937 random(static_cast<std::uint32_t>(1100 + i));
        std::vector<float> x = RandomUniform(random, kRows * in_size, 2.0);
        for (float& v : x) v = std::round(v * 8) / 8 + 0.0f;
        const std::vector<float> dy = RandomUniform(random, kRows * out_size, 1.0);
        ForEachTargetTable(Kernels, [&](const BnPoolTable& table) {
            const BnPoolEntry& kernels = table.entries[i];
            const std::vector<float> y = RunBnForward(kernels, g, kRows, x, bn);
            CHECK(SameBits(y, RunSplit(kRows, kFirst, out_size, [&](std::size_t begin, std::size_t rows) {
                               return RunBnForward(kernels, g, rows, Samples(x, in_size, begin, rows), bn);
                           })));
            CHECK(SameBits(RunBnBackward(kernels, g, kRows, x, bn, y, dy),
                           RunSplit(kRows, kFirst, in_size, [&](std::size_t begin, std::size_t rows) {
                               return RunBnBackward(kernels, g, rows, Samples(x, in_size, begin, rows), bn,
                                                    Samples(y, out_size, begin, rows),
                                                    Samples(dy, out_size, begin, rows));
                           })));
        });
    }
}

TEST_CASE("Max pool applying a BN with no rows reads and writes nothing", "[pool][bn]") {
    for (std::size_t i = 0; i < kBnPoolCaseCount; ++i) {
        const BnPoolCase& c = kBnPoolCases[i];
        const window_geometry& g = c.geometry;
        INFO(DescribeCase(c, 0));
        const Statistics bn(c, static_cast<std::uint32_t>(1200 + i));
        ForEachTargetTable(Kernels, [&](const BnPoolTable& table) {
            const BnPoolEntry& kernels = table.entries[i];
            // Empty inputs sit on an inaccessible page; outputs of one sample must keep their fill.
            const GuardedArray<float> x(0), y(0), dy(0);
            GuardedArray<float> y_out(OutputSize(g), 7.0f), dx_out(InputSize(g), 7.0f);
            kernels.forward(x.data(), bn.constants(), 0, y_out.data());
            kernels.backward(x.data(), bn.constants(), y.data(), dy.data(), 0, dx_out.data());
            CHECK(y_out.ToVector() == std::vector<float>(OutputSize(g), 7.0f));
            CHECK(dx_out.ToVector() == std::vector<float>(InputSize(g), 7.0f));
        });
    }
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
