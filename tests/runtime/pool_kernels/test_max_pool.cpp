// MaxPool2dForward / MaxPool2dBackward on every compiled SIMD target, at every shape of pool_test_support.hpp with
// 1, 3, 17 and 64 channels: against the double-precision reference (the max is exact; dx within 2 (n - 1) u of the
// sum of the n shares a position receives), ties routed to the first position of a window, padding never winning, the
// backward against central finite differences at inputs without ties, rows split into calls, rows == 0, and the same
// bits on every target.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/pool_kernels/test_max_pool.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/pooling-inl.h"
#include "tests/runtime/pool_kernels/pool_test_support.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

template <std::size_t... kIndex>
PoolTable<MaxBackwardFn> MaxTable(std::index_sequence<kIndex...>) {
    namespace k = kernels::HWY_NAMESPACE;
    static const PoolEntry<MaxBackwardFn> entries[] = {
        {PoolCase(kIndex), &k::MaxPool2dForward<PoolCase(kIndex)>, &k::MaxPool2dBackward<PoolCase(kIndex)>}...};
    return {HWY_TARGET, entries, sizeof...(kIndex)};
}

PoolTable<MaxBackwardFn> MaxPoolKernels() { return MaxTable(std::make_index_sequence<kPoolCases>()); }

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse::test {
namespace {

HWY_EXPORT(MaxPoolKernels);

PoolTable<MaxBackwardFn> Kernels() { return HWY_DYNAMIC_DISPATCH(MaxPoolKernels)(); }

std::size_t InputSize(const window_geometry& g) { return g.height * g.width * g.channels; }

// Runs forward and backward of every case at `rows` rows on every target and checks them against the reference;
// values(count, case) gives x, dy is uniform in [-1, 1].
template <class Values>
void CheckCases(std::size_t rows, const Values& values) {
    for (std::size_t c = 0; c < kPoolCases; ++c) {
        const window_geometry g = PoolCase(c);
        INFO(Describe(g, rows));
        std::mt19937 random(static_cast<std::uint32_t>(c));
        const std::vector<float> x = values(rows * InputSize(g), c);
        const std::vector<float> dy = RandomUniform(random, rows * OutputSize(g), 1.0);
        const Expected y = MaxForward(g, rows, x), dx = MaxBackward(g, rows, x, dy);
        ForEachTargetTable(Kernels, [&](const PoolTable<MaxBackwardFn>& table) {
            const PoolEntry<MaxBackwardFn>& kernels = table.entries[c];
            CheckAgainst("y", RunForward(kernels.forward, g, rows, x), y);
            CheckAgainst("dx", RunBackward(kernels.backward, g, rows, x, ToFloat(y.value), dy), dx);
        });
    }
}

TEST_CASE("Max pool shapes agree with TensorFlow's rule as the reference spells it out", "[pool]") {
    const PoolTable<MaxBackwardFn> table = Kernels();
    REQUIRE(table.count == kPoolCases);
    for (std::size_t c = 0; c < kPoolCases; ++c) {
        const window_geometry g = table.entries[c].geometry;
        INFO(Describe(g));
        CHECK(g.out_height() * g.out_width() * g.channels == OutputSize(g));
    }
}

TEST_CASE("Max pool forward and backward match the reference on every target", "[pool]") {
    for (const std::size_t rows : {1, 3}) {
        CheckCases(rows, [&](std::size_t count, std::size_t c) {
            std::mt19937 random(static_cast<std::uint32_t>(100 + c + rows));
            return RandomUniform(random, count, 1.0);
        });
    }
}

TEST_CASE("Max pool routes a tied window's gradient to its first position in row-major order", "[pool]") {
    INFO("values in {-1, 0, 1}: most windows hold ties");
    CheckCases(2, [&](std::size_t count, std::size_t c) {
        std::mt19937 random(static_cast<std::uint32_t>(200 + c));
        std::uniform_int_distribution<int> value(-1, 1);
        std::vector<float> x(count);
        for (float& v : x) v = static_cast<float>(value(random));
        return x;
    });
    INFO("every value equal: each dy goes to its window's top-left position inside the input");
    CheckCases(2, [&](std::size_t count, std::size_t) { return std::vector<float>(count, 0.5f); });
}

TEST_CASE("Max pool never takes a padding position for the max", "[pool]") {
    INFO("every value negative: a zero of padding would win");
    CheckCases(2, [&](std::size_t count, std::size_t c) {
        std::mt19937 random(static_cast<std::uint32_t>(300 + c));
        std::vector<float> x = RandomUniform(random, count, 1.0);
        for (float& v : x) v = -1.5f - std::abs(v);
        return x;
    });
}

TEST_CASE("Max pool backward agrees with finite differences of sum(w * forward(x)) away from ties", "[pool]") {
    // Distinct inputs on a grid of 1/64 and a step of 1/256: no perturbation changes a window's max, the objective is
    // linear in the step and every float involved is exact; tolerance 1e-6 (1 + |fd|).
    constexpr std::size_t kRows = 2;
    constexpr float kStep = 1.0f / 256;
    for (std::size_t c = 0; c < kPoolCases; ++c) {
        const window_geometry g = PoolCase(c);
        if (g.channels != 3 && g.channels != 17) continue;
        INFO(Describe(g, kRows));
        const std::size_t in_count = kRows * InputSize(g), out_count = kRows * OutputSize(g);
        std::vector<float> x(in_count);
        for (std::size_t i = 0; i < in_count; ++i) x[i] = (static_cast<float>(i) - in_count / 2.0f) / 64;
        std::mt19937 random(static_cast<std::uint32_t>(400 + c));
        std::shuffle(x.begin(), x.end(), random);
        const std::vector<float> w = RandomUniform(random, out_count, 1.0);
        ForEachTargetTable(Kernels, [&](const PoolTable<MaxBackwardFn>& table) {
            const PoolEntry<MaxBackwardFn>& kernels = table.entries[c];
            std::vector<float> y(out_count);
            const auto objective = [&](const std::vector<float>& at) {
                kernels.forward(at.data(), kRows, y.data());
                double sum = 0;
                for (std::size_t i = 0; i < out_count; ++i) sum += static_cast<double>(w[i]) * y[i];
                return sum;
            };
            objective(x);
            const std::vector<float> dx = RunBackward(kernels.backward, g, kRows, x, y, w);
            std::vector<double> fd(in_count);
            std::vector<float> moved = x;
            for (std::size_t i = 0; i < in_count; ++i) {
                moved[i] = x[i] + kStep;
                const double above = objective(moved);
                moved[i] = x[i] - kStep;
                const double below = objective(moved);
                moved[i] = x[i];
                fd[i] = (above - below) / (2.0 * kStep);
            }
            CheckWithin(
                "dx", in_count, [&](std::size_t i) { return dx[i]; }, [&](std::size_t i) { return fd[i]; },
                [&](std::size_t i) { return 1e-6 * (1 + std::abs(fd[i])); });
        });
    }
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST_CASE("Max pool gives the same bits whether rows come in one call or two, and on every target", "[pool]") {
    constexpr std::size_t kRows = 5, kFirst = 2;
    for (std::size_t c = 0; c < kPoolCases; ++c) {
        const window_geometry g = PoolCase(c);
        INFO(Describe(g, kRows));
        const std::size_t in_size = InputSize(g), out_size = OutputSize(g);
        std::mt19937 random(static_cast<std::uint32_t>(500 + c));
        // Ties included (a grid of 1/8), so that the routing is exercised as well.
        std::vector<float> x = RandomUniform(random, kRows * in_size, 1.0);
        for (float& v : x) v = std::round(v * 8) / 8 + 0.0f;
        const std::vector<float> dy = RandomUniform(random, kRows * out_size, 1.0);
        std::vector<float> first_y, first_dx;
        ForEachTargetTable(Kernels, [&](const PoolTable<MaxBackwardFn>& table) {
            const PoolEntry<MaxBackwardFn>& kernels = table.entries[c];
            const std::vector<float> y = RunForward(kernels.forward, g, kRows, x);
            const std::vector<float> dx = RunBackward(kernels.backward, g, kRows, x, y, dy);
            CHECK(SameBits(y, RunSplit(kRows, kFirst, out_size, [&](std::size_t begin, std::size_t rows) {
                               return RunForward(kernels.forward, g, rows, Samples(x, in_size, begin, rows));
                           })));
            CHECK(SameBits(dx, RunSplit(kRows, kFirst, in_size, [&](std::size_t begin, std::size_t rows) {
                               return RunBackward(kernels.backward, g, rows, Samples(x, in_size, begin, rows),
                                                  Samples(y, out_size, begin, rows),
                                                  Samples(dy, out_size, begin, rows));
                           })));
            if (first_y.empty()) first_y = y, first_dx = dx;
            CHECK(SameBits(y, first_y));
            CHECK(SameBits(dx, first_dx));
        });
    }
}

TEST_CASE("Max pool with no rows reads and writes nothing", "[pool]") {
    for (std::size_t c = 0; c < kPoolCases; ++c) {
        const window_geometry g = PoolCase(c);
        INFO(Describe(g, 0));
        ForEachTargetTable(Kernels, [&](const PoolTable<MaxBackwardFn>& table) {
            const PoolEntry<MaxBackwardFn>& kernels = table.entries[c];
            // Empty inputs sit on an inaccessible page; outputs of one sample must keep their fill.
            const GuardedArray<float> x(0), y(0), dy(0);
            GuardedArray<float> y_out(OutputSize(g), 7.0f), dx_out(InputSize(g), 7.0f);
            kernels.forward(x.data(), 0, y_out.data());
            kernels.backward(x.data(), y.data(), dy.data(), 0, dx_out.data());
            CHECK(y_out.ToVector() == std::vector<float>(OutputSize(g), 7.0f));
            CHECK(dx_out.ToVector() == std::vector<float>(InputSize(g), 7.0f));
        });
    }
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
