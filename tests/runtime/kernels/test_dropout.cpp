// DropoutForward / DropoutBackward / DropoutInfer on every compiled SIMD target: against a scalar double reference
// written here from the contract in dropout-inl.h (its hash spelled out again, its arithmetic in double), the
// share dropped over a million draws, the mask's independence from how the rows are split into calls, the
// backward by finite differences, and inference as the identity.
//
// Values: the reference is x * (1 / (1 - rate)) in double; the kernel multiplies by that quotient rounded to
// float, one more rounding: |y - y_ref| <= 2 u |y_ref| (u float's unit roundoff). Which values are dropped is
// compared exactly.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/kernels/test_dropout.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/dropout-inl.h"
#include "tests/runtime/dense_kernels/dense_test_support.hpp"

// Declared once, though foreach_target includes this file once per target.
#ifndef NNFUSE_TESTS_DROPOUT_TABLE_
#define NNFUSE_TESTS_DROPOUT_TABLE_
namespace nnfuse::test {

using DropoutFn = void (*)(const float* in, std::size_t rows, std::uint64_t first_row, double rate, std::uint64_t seed,
                           std::uint64_t step, float* out);
using DropoutInferFn = void (*)(const float* x, std::size_t rows, float* y);

struct DropoutEntry {
    std::size_t features;
    DropoutFn forward, backward;
    DropoutInferFn infer;
};

struct DropoutTable {
    std::int64_t target;
    const DropoutEntry* entries;
    std::size_t count;
};

}  // namespace nnfuse::test
#endif  // NNFUSE_TESTS_DROPOUT_TABLE_

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

template <std::size_t Features>
constexpr DropoutEntry Entry() {
    namespace k = kernels::HWY_NAMESPACE;
    return {Features, &k::DropoutForward<Features>, &k::DropoutBackward<Features>, &k::DropoutInfer<Features>};
}

DropoutTable DropoutKernels() {
    // Below, at and above every vector width, odd sizes, the reference model's 784, and 1000 for the statistics.
    static const DropoutEntry entries[] = {Entry<1>(),  Entry<7>(),   Entry<16>(),  Entry<17>(),
                                           Entry<37>(), Entry<784>(), Entry<1000>()};
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse::test {
namespace {

HWY_EXPORT(DropoutKernels);

// ---- The reference, from the contract ------------------------------------------------------------------------

std::uint64_t ReferenceMix64(std::uint64_t z) {
    z ^= z >> 30;
    z *= 0xbf58476d1ce4e5b9ull;
    z ^= z >> 27;
    z *= 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z;
}

std::uint32_t ReferenceMix32(std::uint32_t h) {
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    h *= 0x846ca68bu;
    h ^= h >> 16;
    return h;
}

// The threshold as a 64-bit integer: dropped iff hash < threshold, P(dropped) = threshold / 2^32.
std::uint64_t ReferenceThreshold(double rate) {
    const long double scaled = std::round(static_cast<long double>(rate) * 4294967296.0L);
    return std::min<std::uint64_t>(static_cast<std::uint64_t>(scaled), 0xffffffffull);
}

bool ReferenceDropped(double rate, std::uint64_t seed, std::uint64_t step, std::uint64_t row, std::size_t f) {
    const auto row_key = static_cast<std::uint32_t>(ReferenceMix64(ReferenceMix64(ReferenceMix64(seed) ^ step) ^ row));
    return ReferenceMix32(row_key ^ static_cast<std::uint32_t>(f)) < ReferenceThreshold(rate);
}

struct Problem {
    std::size_t features, rows;
    std::uint64_t first_row, seed, step;
    double rate;
};

std::vector<double> Reference(const Problem& p, const std::vector<float>& in) {
    std::vector<double> out(in.size());
    for (std::size_t r = 0; r < p.rows; ++r) {
        for (std::size_t f = 0; f < p.features; ++f) {
            const std::size_t i = r * p.features + f;
            out[i] = ReferenceDropped(p.rate, p.seed, p.step, p.first_row + r, f) ? 0.0 : in[i] / (1.0 - p.rate);
        }
    }
    return out;
}

std::vector<float> Run(DropoutFn run, const Problem& p, const std::vector<float>& in) {
    const auto input = GuardedArray<float>::CopyOf(in);
    GuardedArray<float> output(in.size(), kUnwritten);
    run(input.data(), p.rows, p.first_row, p.rate, p.seed, p.step, output.data());
    return output.ToVector();
}

void CheckAgainstReference(const Problem& p, const std::vector<float>& in, const std::vector<float>& out) {
    const std::vector<double> expected = Reference(p, in);
    std::size_t mask_mismatches = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        // A kept value is never 0 here (inputs are nonzero), so zero means dropped.
        mask_mismatches += (out[i] == 0.0f) != (expected[i] == 0.0) ? 1 : 0;
    }
    CHECK(mask_mismatches == 0);
    CheckWithin(
        "values", in.size(), [&](std::size_t i) { return out[i]; }, [&](std::size_t i) { return expected[i]; },
        [&](std::size_t i) { return 2 * kUnitRoundoff * std::abs(expected[i]); });
}

// Nonzero inputs of both signs: a dropped value (0) cannot be mistaken for a kept one.
std::vector<float> NonzeroValues(std::size_t count, std::uint32_t seed) {
    std::mt19937 random(seed);
    std::uniform_real_distribution<float> magnitude(0.5f, 4.0f);
    std::vector<float> values(count);
    for (std::size_t i = 0; i < count; ++i) values[i] = (i % 3 == 0 ? -1.0f : 1.0f) * magnitude(random);
    return values;
}

template <class Body>
void ForEachTargetWithKernels(const Body& body) {
    ForEachTarget([&](std::int64_t target) {
        const DropoutTable table = HWY_DYNAMIC_DISPATCH(DropoutKernels)();
        REQUIRE(table.target == target);
        body(table);
    });
}

TEST_CASE("Dropout forward and backward match the reference on every target", "[dropout]") {
    const DropoutTable sizes = HWY_DYNAMIC_DISPATCH(DropoutKernels)();
    for (std::size_t c = 0; c < sizes.count; ++c) {
        const std::size_t features = sizes.entries[c].features;
        for (const double rate : {0.0, 0.1, 0.5, 0.75}) {
            for (const std::size_t rows : {1, 3, 64}) {
                const Problem p{features, rows, 1000 * c + 17, 42, 3 + rows, rate};
                INFO("Features " << features << ", rows " << rows << ", rate " << rate);
                const std::vector<float> in = NonzeroValues(features * rows, static_cast<std::uint32_t>(c + rows));
                ForEachTargetWithKernels([&](const DropoutTable& table) {
                    const DropoutEntry& kernels = table.entries[c];
                    INFO("forward");
                    CheckAgainstReference(p, in, Run(kernels.forward, p, in));
                    INFO("backward");
                    CheckAgainstReference(p, in, Run(kernels.backward, p, in));
                });
            }
        }
    }
}

TEST_CASE("Dropout at rate 0 returns its input unchanged", "[dropout]") {
    ForEachTargetWithKernels([&](const DropoutTable& table) {
        const DropoutEntry& kernels = table.entries[3];  // 17 features: a whole vector and a partial one
        const Problem p{kernels.features, 5, 0, 1, 1, 0.0};
        const std::vector<float> in = NonzeroValues(p.features * p.rows, 9);
        CHECK(Run(kernels.forward, p, in) == in);
        CHECK(Run(kernels.backward, p, in) == in);
    });
}

TEST_CASE("Dropout drops a share within 4 sigma of rate over a million draws, independently across steps",
          "[dropout]") {
    constexpr std::size_t kEntry = 6, kRows = 1000;  // 1000 features x 1000 rows
    for (const double rate : {0.1, 0.5, 0.9}) {
        ForEachTargetWithKernels([&](const DropoutTable& table) {
            const DropoutEntry& kernels = table.entries[kEntry];
            REQUIRE(kernels.features == 1000);
            const std::vector<float> ones(kernels.features * kRows, 1.0f);
            const Problem p{kernels.features, kRows, 0, 7, 11, rate};
            const std::vector<float> out = Run(kernels.forward, p, ones);
            Problem next = p;
            next.step = p.step + 1;
            const std::vector<float> out_next = Run(kernels.forward, next, ones);
            const auto n = static_cast<double>(out.size());
            double dropped = 0, both = 0;
            for (std::size_t i = 0; i < out.size(); ++i) {
                dropped += out[i] == 0.0f ? 1 : 0;
                both += out[i] == 0.0f && out_next[i] == 0.0f ? 1 : 0;
            }
            INFO("rate " << rate << ": dropped " << dropped << " of " << n << ", in both steps " << both);
            CHECK(std::abs(dropped - n * rate) <= 4 * std::sqrt(n * rate * (1 - rate)));
            // Two steps draw independent masks: both drop a value with probability rate^2.
            const double both_rate = rate * rate;
            CHECK(std::abs(both - n * both_rate) <= 4 * std::sqrt(n * both_rate * (1 - both_rate)));
        });
    }
}

TEST_CASE("Dropout's mask does not depend on how the rows are split into calls", "[dropout]") {
    const DropoutTable sizes = HWY_DYNAMIC_DISPATCH(DropoutKernels)();
    for (const std::size_t c : {1, 5}) {  // 7 and 784 features
        const std::size_t features = sizes.entries[c].features;
        constexpr std::size_t kRows = 200;
        const Problem whole{features, kRows, 0, 123, 456, 0.3};
        const std::vector<float> in = NonzeroValues(features * kRows, 77);
        INFO("Features " << features);
        ForEachTargetWithKernels([&](const DropoutTable& table) {
            const DropoutEntry& kernels = table.entries[c];
            const std::vector<float> at_once = Run(kernels.forward, whole, in);
            // Chunks of 1, 7, 64 rows and the rest, in reverse order, as threads might take them.
            const std::size_t bounds[] = {0, 1, 8, 72, kRows};
            std::vector<float> in_chunks(in.size(), kUnwritten);
            for (std::size_t k = 4; k-- > 0;) {
                const std::size_t begin = bounds[k], rows = bounds[k + 1] - begin;
                const auto input = GuardedArray<float>::CopyOf(
                    std::vector<float>(in.begin() + begin * features, in.begin() + (begin + rows) * features));
                GuardedArray<float> output(rows * features, kUnwritten);
                kernels.forward(input.data(), rows, begin, whole.rate, whole.seed, whole.step, output.data());
                std::copy(output.data(), output.data() + rows * features, in_chunks.begin() + begin * features);
            }
            CHECK(in_chunks == at_once);
            // In place gives the same values.
            std::vector<float> in_place = in;
            kernels.forward(in_place.data(), kRows, 0, whole.rate, whole.seed, whole.step, in_place.data());
            CHECK(in_place == at_once);
            // Another seed or another step is another mask.
            Problem other_seed = whole, other_step = whole;
            other_seed.seed += 1;
            other_step.step += 1;
            CHECK(Run(kernels.forward, other_seed, in) != at_once);
            CHECK(Run(kernels.forward, other_step, in) != at_once);
        });
    }
}

TEST_CASE("Dropout's backward agrees with finite differences of sum(w * forward(x))", "[dropout]") {
    // L(x) = sum w * y(x) is linear in x for a fixed mask, so its central difference is exact up to rounding:
    // tolerance 1e-5 (1 + |fd|).
    constexpr double kStep = 1.0 / 8;
    const DropoutTable sizes = HWY_DYNAMIC_DISPATCH(DropoutKernels)();
    for (const std::size_t c : {1, 3}) {  // 7 and 17 features
        const std::size_t features = sizes.entries[c].features;
        const Problem p{features, 3, 5, 2024, 9, 0.4};
        const std::vector<float> x = NonzeroValues(features * p.rows, 31);
        const std::vector<float> w = NonzeroValues(features * p.rows, 32);
        INFO("Features " << features);
        ForEachTargetWithKernels([&](const DropoutTable& table) {
            const DropoutEntry& kernels = table.entries[c];
            const auto objective = [&](const std::vector<float>& at) {
                const std::vector<float> y = Run(kernels.forward, p, at);
                double sum = 0;
                for (std::size_t i = 0; i < y.size(); ++i) sum += static_cast<double>(w[i]) * y[i];
                return sum;
            };
            const std::vector<float> dx = Run(kernels.backward, p, w);
            std::vector<double> fd(x.size());
            for (std::size_t i = 0; i < x.size(); ++i) {
                std::vector<float> above = x, below = x;
                above[i] = static_cast<float>(x[i] + kStep);
                below[i] = static_cast<float>(x[i] - kStep);
                fd[i] = (objective(above) - objective(below)) / (static_cast<double>(above[i]) - below[i]);
            }
            CheckWithin(
                "dx", fd.size(), [&](std::size_t i) { return dx[i]; }, [&](std::size_t i) { return fd[i]; },
                [&](std::size_t i) { return 1e-5 * (1 + std::abs(fd[i])); });
        });
    }
}

TEST_CASE("Dropout in inference is the identity, bit for bit", "[dropout]") {
    ForEachTargetWithKernels([&](const DropoutTable& table) {
        const DropoutEntry& kernels = table.entries[1];  // 7 features
        const std::size_t rows = 3, count = rows * kernels.features;
        std::vector<float> in = NonzeroValues(count, 5);
        in[0] = -0.0f;
        in[1] = std::numeric_limits<float>::infinity();
        in[2] = std::numeric_limits<float>::quiet_NaN();
        in[3] = std::numeric_limits<float>::denorm_min();
        const auto input = GuardedArray<float>::CopyOf(in);
        GuardedArray<float> output(count, 1.0f);
        kernels.infer(input.data(), rows, output.data());
        CHECK(std::memcmp(input.data(), output.data(), count * sizeof(float)) == 0);
        std::vector<float> in_place = in;
        kernels.infer(in_place.data(), rows, in_place.data());
        CHECK(std::memcmp(in_place.data(), in.data(), count * sizeof(float)) == 0);
    });
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
