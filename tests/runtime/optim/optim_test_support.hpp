// Shared by the optimizer tests that run on every SIMD target: the per-target loop over the targets the update
// kernels' translation unit holds, seeded inputs, guarded buffers and the tolerance check.
//
// Tolerances are first-order rounding-error bounds: an expression of k rounded float operations on float inputs
// is within about k * u * M of the exact (double) result, where u = 2^-24 is float's unit roundoff and M is the
// same expression evaluated on the magnitudes of its terms (so cancellation does not make the bound vanish).
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <sstream>
#include <vector>

#include "hwy/targets.h"
#include "runtime/optim/update_kernels.hpp"

namespace nnfuse::test {

inline constexpr double kUnitRoundoff = 0x1p-24;

// Every target the update kernels were compiled for and this CPU runs, each made the dispatch target in turn;
// body(target) runs once per target. Checks that the kernels really dispatch there. Restores normal dispatch.
template <class Body>
void ForEachUpdateTarget(const Body& body) {
    struct RestoreDispatch {
        ~RestoreDispatch() { hwy::SetSupportedTargetsForTest(0); }
    } restore;
    hwy::SetSupportedTargetsForTest(0);
    const std::int64_t targets = hwy::SupportedTargets() & update_kernels_compiled_targets();
    REQUIRE(targets != 0);
    for (std::int64_t rest = targets; rest != 0; rest &= rest - 1) {
        const std::int64_t target = rest & -rest;
        hwy::SetSupportedTargetsForTest(target);
        INFO("SIMD target " << hwy::TargetName(target));
        REQUIRE(update_kernels_target() == target);
        body(target);
    }
}

// n values uniform in [lo, hi), seeded, with some exact zeros mixed in (every 5th value).
inline std::vector<float> SeededValues(std::size_t n, float lo, float hi, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> values(n);
    for (std::size_t k = 0; k < n; ++k) values[k] = k % 5 == 3 ? 0.0f : dist(rng);
    return values;
}

// A copy of `values` with kGuard sentinels on either side, so the data starts 68 bytes into the allocation
// (unaligned for every vector width) and any write outside [0, n) shows.
class Guarded {
public:
    static constexpr std::size_t kGuard = 17;
    static constexpr float kSentinel = -12345.0f;
    explicit Guarded(const std::vector<float>& values) : storage_(values.size() + 2 * kGuard, kSentinel) {
        std::copy(values.begin(), values.end(), storage_.begin() + kGuard);
    }
    float* data() { return storage_.data() + kGuard; }
    std::span<const float> values() const { return std::span(storage_).subspan(kGuard, storage_.size() - 2 * kGuard); }
    bool guards_intact() const {
        for (std::size_t k = 0; k < kGuard; ++k) {
            if (storage_[k] != kSentinel || storage_[storage_.size() - 1 - k] != kSentinel) return false;
        }
        return true;
    }

private:
    std::vector<float> storage_;
};

// |actual - exact| <= roundings * u * magnitude (a zero magnitude demands the exact result).
inline bool WithinRounding(float actual, double exact, double magnitude, double roundings) {
    return std::abs(static_cast<double>(actual) - exact) <= roundings * kUnitRoundoff * magnitude;
}

// Every element of `actual` within roundings * u * magnitude of `exact`, and bit-identical to `bits` (the formula
// evaluated in float, operation by operation). Reports the counts and the first element that fails either.
inline void CheckElements(std::span<const float> actual, const std::vector<double>& exact,
                          const std::vector<double>& magnitude, double roundings, const std::vector<float>& bits) {
    REQUIRE(actual.size() == exact.size());
    std::size_t off_bound = 0, off_bits = 0, first_bad = actual.size();
    for (std::size_t k = 0; k < actual.size(); ++k) {
        const bool ok = WithinRounding(actual[k], exact[k], magnitude[k], roundings);
        off_bound += ok ? 0 : 1;
        off_bits += actual[k] == bits[k] ? 0 : 1;
        if ((!ok || actual[k] != bits[k]) && first_bad == actual.size()) first_bad = k;
    }
    std::ostringstream detail;
    detail.precision(9);
    if (first_bad < actual.size()) {
        detail << "first bad index " << first_bad << ": got " << actual[first_bad] << ", exact " << exact[first_bad]
               << ", float formula " << bits[first_bad];
    }
    INFO(detail.str());
    CHECK(off_bound == 0);
    CHECK(off_bits == 0);
}

}  // namespace nnfuse::test
