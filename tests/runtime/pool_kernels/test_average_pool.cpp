// AveragePool2dForward / AveragePool2dBackward at every shape of pool_test_support.hpp with 1, 3, 17 and 64 channels,
// and GlobalAveragePool2dForward / GlobalAveragePool2dBackward, on every compiled SIMD target: against the
// double-precision reference (a mean of n values within (n + 1) u of their absolute sum / n; dx within (k + 1) u of the
// k shares a position receives), the backward against central finite differences, rows split into calls, rows == 0,
// and the same bits on every target. Global pooling is checked as the average pool whose window is the whole input.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/pool_kernels/test_average_pool.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/pooling-inl.h"
#include "tests/runtime/pool_kernels/pool_test_support.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

template <std::size_t... kIndex>
PoolTable<AverageBackwardFn> AverageTable(std::index_sequence<kIndex...>) {
    namespace k = kernels::HWY_NAMESPACE;
    static const PoolEntry<AverageBackwardFn> entries[] = {
        {PoolCase(kIndex), &k::AveragePool2dForward<PoolCase(kIndex)>, &k::AveragePool2dBackward<PoolCase(kIndex)>}...};
    return {HWY_TARGET, entries, sizeof...(kIndex)};
}

template <std::size_t... kIndex>
PoolTable<AverageBackwardFn> GlobalTable(std::index_sequence<kIndex...>) {
    namespace k = kernels::HWY_NAMESPACE;
    static const PoolEntry<AverageBackwardFn> entries[] = {
        {AsWholeWindow(kGlobalShapes[kIndex]),
         &k::GlobalAveragePool2dForward<kGlobalShapes[kIndex].height, kGlobalShapes[kIndex].width,
                                        kGlobalShapes[kIndex].channels>,
         &k::GlobalAveragePool2dBackward<kGlobalShapes[kIndex].height, kGlobalShapes[kIndex].width,
                                         kGlobalShapes[kIndex].channels>}...};
    return {HWY_TARGET, entries, sizeof...(kIndex)};
}

PoolTable<AverageBackwardFn> AveragePoolKernels() { return AverageTable(std::make_index_sequence<kPoolCases>()); }
PoolTable<AverageBackwardFn> GlobalAveragePoolKernels() {
    return GlobalTable(std::make_index_sequence<kGlobalCases>());
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse::test {
namespace {

HWY_EXPORT(AveragePoolKernels);
HWY_EXPORT(GlobalAveragePoolKernels);

using Table = PoolTable<AverageBackwardFn>;
using Entry = PoolEntry<AverageBackwardFn>;

Table AverageKernels() { return HWY_DYNAMIC_DISPATCH(AveragePoolKernels)(); }
Table GlobalKernels() { return HWY_DYNAMIC_DISPATCH(GlobalAveragePoolKernels)(); }

std::size_t InputSize(const window_geometry& g) { return g.height * g.width * g.channels; }

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Both families: a name and the table on the target under test.
struct Family {
    const char* name;
    Table (*kernels)();
};
const Family kFamilies[] = {{"AveragePool2d", AverageKernels}, {"GlobalAveragePool2d", GlobalKernels}};

// Calls body(family, case index, geometry) for every case of both families.
template <class Body>
void ForEachCase(const Body& body) {
    for (const Family& family : kFamilies) {
        const Table sizes = family.kernels();
        for (std::size_t c = 0; c < sizes.count; ++c) {
            INFO(family.name << ", " << Describe(sizes.entries[c].geometry));
            body(family, c, sizes.entries[c].geometry);
        }
    }
}

TEST_CASE("Average pool shapes agree with TensorFlow's rule as the reference spells it out", "[pool]") {
    REQUIRE(AverageKernels().count == kPoolCases);
    REQUIRE(GlobalKernels().count == kGlobalCases);
    ForEachCase([&](const Family&, std::size_t, const window_geometry& g) {
        CHECK(g.out_height() * g.out_width() * g.channels == OutputSize(g));
    });
}

TEST_CASE("Average pool forward and backward match the reference on every target", "[pool]") {
    ForEachCase([&](const Family& family, std::size_t c, const window_geometry& g) {
        for (const std::size_t rows : {1, 3}) {
            INFO("rows " << rows);
            std::mt19937 random(static_cast<std::uint32_t>(100 * c + rows));
            // Values away from zero on average too (an offset), so that a wrong count shows in every mean.
            std::vector<float> x = RandomUniform(random, rows * InputSize(g), 1.0);
            for (float& v : x) v += 0.75f;
            const std::vector<float> dy = RandomUniform(random, rows * OutputSize(g), 1.0);
            const Expected y = AverageForward(g, rows, x), dx = AverageBackward(g, rows, dy);
            ForEachTargetTable(family.kernels, [&](const Table& table) {
                const Entry& kernels = table.entries[c];
                CheckAgainst("y", RunForward(kernels.forward, g, rows, x), y);
                CheckAgainst("dx", RunBackward(kernels.backward, g, rows, dy), dx);
            });
        }
    });
}

TEST_CASE("Average pool backward agrees with finite differences of sum(w * forward(x))", "[pool]") {
    // The objective is linear in x: its central difference is exact but for the rounding of the means the perturbed
    // value enters (a few u); tolerance 1e-5 (1 + |fd|).
    constexpr std::size_t kRows = 2;
    constexpr float kStep = 1.0f / 8;
    ForEachCase([&](const Family& family, std::size_t c, const window_geometry& g) {
        if (g.channels != 3 && g.channels != 17) return;
        const std::size_t in_count = kRows * InputSize(g), out_count = kRows * OutputSize(g);
        std::mt19937 random(static_cast<std::uint32_t>(400 + c));
        const std::vector<float> x = RandomUniform(random, in_count, 1.0);
        const std::vector<float> w = RandomUniform(random, out_count, 1.0);
        ForEachTargetTable(family.kernels, [&](const Table& table) {
            const Entry& kernels = table.entries[c];
            std::vector<float> y(out_count);
            const auto objective = [&](const std::vector<float>& at) {
                kernels.forward(at.data(), kRows, y.data());
                double sum = 0;
                for (std::size_t i = 0; i < out_count; ++i) sum += static_cast<double>(w[i]) * y[i];
                return sum;
            };
            const std::vector<float> dx = RunBackward(kernels.backward, g, kRows, w);
            std::vector<double> fd(in_count);
            std::vector<float> moved = x;
            for (std::size_t i = 0; i < in_count; ++i) {
                moved[i] = x[i] + kStep;
                const double above = objective(moved);
                moved[i] = x[i] - kStep;
                const double below = objective(moved);
                moved[i] = x[i];
                fd[i] = (above - below) / (static_cast<double>(x[i] + kStep) - static_cast<double>(x[i] - kStep));
            }
            CheckWithin(
                "dx", in_count, [&](std::size_t i) { return dx[i]; }, [&](std::size_t i) { return fd[i]; },
                [&](std::size_t i) { return 1e-5 * (1 + std::abs(fd[i])); });
        });
    });
}

TEST_CASE("Average pool gives the same bits whether rows come in one call or two, and on every target", "[pool]") {
    constexpr std::size_t kRows = 5, kFirst = 2;
    ForEachCase([&](const Family& family, std::size_t c, const window_geometry& g) {
        const std::size_t in_size = InputSize(g), out_size = OutputSize(g);
        std::mt19937 random(static_cast<std::uint32_t>(500 + c));
        const std::vector<float> x = RandomUniform(random, kRows * in_size, 1.0);
        const std::vector<float> dy = RandomUniform(random, kRows * out_size, 1.0);
        std::vector<float> first_y, first_dx;
        ForEachTargetTable(family.kernels, [&](const Table& table) {
            const Entry& kernels = table.entries[c];
            const std::vector<float> y = RunForward(kernels.forward, g, kRows, x);
            const std::vector<float> dx = RunBackward(kernels.backward, g, kRows, dy);
            CHECK(SameBits(y, RunSplit(kRows, kFirst, out_size, [&](std::size_t begin, std::size_t rows) {
                               return RunForward(kernels.forward, g, rows, Samples(x, in_size, begin, rows));
                           })));
            CHECK(SameBits(dx, RunSplit(kRows, kFirst, in_size, [&](std::size_t begin, std::size_t rows) {
                               return RunBackward(kernels.backward, g, rows, Samples(dy, out_size, begin, rows));
                           })));
            if (first_y.empty()) first_y = y, first_dx = dx;
            CHECK(SameBits(y, first_y));
            CHECK(SameBits(dx, first_dx));
        });
    });
}

TEST_CASE("Average pool with no rows reads and writes nothing", "[pool]") {
    ForEachCase([&](const Family& family, std::size_t c, const window_geometry& g) {
        ForEachTargetTable(family.kernels, [&](const Table& table) {
            const Entry& kernels = table.entries[c];
            // Empty inputs sit on an inaccessible page; outputs of one sample must keep their fill.
            const GuardedArray<float> x(0), dy(0);
            GuardedArray<float> y_out(OutputSize(g), 7.0f), dx_out(InputSize(g), 7.0f);
            kernels.forward(x.data(), 0, y_out.data());
            kernels.backward(dy.data(), 0, dx_out.data());
            CHECK(y_out.ToVector() == std::vector<float>(OutputSize(g), 7.0f));
            CHECK(dx_out.ToVector() == std::vector<float>(InputSize(g), 7.0f));
        });
    });
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
