// AddForward (add-inl.h) on every compiled SIMD target, at sizes below, at and above every vector width and odd
// sizes: y = a + b against the sum in double rounded once to float (exact: a float addition is the exact sum
// rounded once), nothing written past the rows, in place into either operand, and the operands in either order.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/kernels/test_add.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/add-inl.h"
#include "tests/runtime/dense_kernels/dense_test_support.hpp"

// Declared once, though foreach_target includes this file once per target.
#ifndef NNFUSE_TESTS_ADD_TABLE_
#define NNFUSE_TESTS_ADD_TABLE_
namespace nnfuse::test {

using AddFn = void (*)(const float* a, const float* b, std::size_t rows, float* y);

struct AddEntry {
    std::size_t size;
    AddFn forward;
};

struct AddTable {
    std::int64_t target;
    const AddEntry* entries;
    std::size_t count;
};

}  // namespace nnfuse::test
#endif  // NNFUSE_TESTS_ADD_TABLE_

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

template <std::size_t Size>
constexpr AddEntry Entry() {
    return {Size, &kernels::HWY_NAMESPACE::AddForward<Size>};
}

AddTable AddKernels() {
    static const AddEntry entries[] = {Entry<1>(),  Entry<3>(),  Entry<7>(),  Entry<8>(),   Entry<16>(),
                                       Entry<17>(), Entry<37>(), Entry<64>(), Entry<144>(), Entry<784>()};
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse::test {
namespace {

HWY_EXPORT(AddKernels);

AddTable Kernels() { return HWY_DYNAMIC_DISPATCH(AddKernels)(); }

std::vector<float> Values(std::size_t count, std::uint32_t seed) {
    std::mt19937 random(seed);
    std::uniform_real_distribution<float> value(-3.0f, 3.0f);
    std::vector<float> values(count);
    for (auto& v : values) v = value(random);
    return values;
}

TEST_CASE("AddForward is a + b rounded once, on every target", "[add]") {
    const AddTable sizes = Kernels();
    for (std::size_t c = 0; c < sizes.count; ++c) {
        const std::size_t size = sizes.entries[c].size;
        for (const std::size_t rows : {1, 2, 5, 64}) {
            const std::size_t count = size * rows;
            INFO("Size " << size << ", rows " << rows);
            const std::vector<float> a = Values(count, static_cast<std::uint32_t>(c * 100 + rows));
            const std::vector<float> b = Values(count, static_cast<std::uint32_t>(c * 100 + rows + 7));
            std::vector<float> expected(count);
            for (std::size_t i = 0; i < count; ++i) {
                expected[i] = static_cast<float>(static_cast<double>(a[i]) + static_cast<double>(b[i]));
            }
            ForEachTargetTable(Kernels, [&](const AddTable& table) {
                const AddFn add = table.entries[c].forward;
                const auto in_a = GuardedArray<float>::CopyOf(a);
                const auto in_b = GuardedArray<float>::CopyOf(b);
                GuardedArray<float> y(count, kUnwritten);
                add(in_a.data(), in_b.data(), rows, y.data());
                CHECK(y.ToVector() == expected);
                GuardedArray<float> swapped(count, kUnwritten);
                add(in_b.data(), in_a.data(), rows, swapped.data());
                CHECK(swapped.ToVector() == expected);
                // In place into either operand: the gradient sum of a residual's input.
                auto into_a = GuardedArray<float>::CopyOf(a);
                add(into_a.data(), in_b.data(), rows, into_a.data());
                CHECK(into_a.ToVector() == expected);
                auto into_b = GuardedArray<float>::CopyOf(b);
                add(in_a.data(), into_b.data(), rows, into_b.data());
                CHECK(into_b.ToVector() == expected);
            });
        }
    }
}

TEST_CASE("AddForward keeps IEEE sums: signed zeros, infinities, NaN", "[add]") {
    ForEachTargetTable(Kernels, [&](const AddTable& table) {
        const AddEntry& entry = table.entries[2];  // 7 values: a partial vector on every target
        REQUIRE(entry.size == 7);
        const float inf = std::numeric_limits<float>::infinity();
        const std::vector<float> a = {-0.0f, inf, 1.0f, std::numeric_limits<float>::denorm_min(), 1e30f, -2.0f, 0.5f};
        const std::vector<float> b = {-0.0f, 1.0f, -inf, std::numeric_limits<float>::denorm_min(), 1e30f, 2.0f, 0.25f};
        const auto in_a = GuardedArray<float>::CopyOf(a);
        const auto in_b = GuardedArray<float>::CopyOf(b);
        GuardedArray<float> y(7, kUnwritten);
        entry.forward(in_a.data(), in_b.data(), 1, y.data());
        const std::vector<float> out = y.ToVector();
        CHECK(out[0] == 0.0f);
        CHECK(std::signbit(out[0]));
        CHECK(out[1] == inf);
        CHECK(out[2] == -inf);
        CHECK(out[3] == 2 * std::numeric_limits<float>::denorm_min());
        CHECK(out[4] == 2e30f);
        CHECK(out[5] == 0.0f);
        CHECK(out[6] == 0.75f);
    });
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
