// bench/fma_peak: see fma_peak.hpp. A Highway foreach_target TU: the multiply-add loop is compiled for every
// target and the best one this CPU supports runs it.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/fma_peak.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::bench::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// 12 chains: Zen 4 and recent Intel cores need latency (4) x pipes (2) = 8 in flight; 12 leaves the 16 registers
// of AVX2 room for the two multiplicands. The multiplicands stay 1 and the addend grows by `step`: no denormals,
// no overflow for any count this runs.
constexpr std::size_t kChains = 12;

// Runs `iterations` rounds of kChains independent multiply-adds and returns their flops; `step` comes from the
// caller so the compiler cannot fold the chains.
std::int64_t MultiplyAddChains(std::int64_t iterations, float step, float* sink) {
    const hn::ScalableTag<float> d;
    const auto one = hn::Set(d, 1.0f);
    const auto increment = hn::Set(d, step);
    hn::Vec<decltype(d)> acc[kChains];
    for (std::size_t c = 0; c < kChains; ++c) acc[c] = hn::Set(d, static_cast<float>(c));
    for (std::int64_t i = 0; i < iterations; ++i) {
        // Unrolled by hand, so the chains stay in registers whatever the compiler's unrolling heuristics.
        acc[0] = hn::MulAdd(acc[0], one, increment);
        acc[1] = hn::MulAdd(acc[1], one, increment);
        acc[2] = hn::MulAdd(acc[2], one, increment);
        acc[3] = hn::MulAdd(acc[3], one, increment);
        acc[4] = hn::MulAdd(acc[4], one, increment);
        acc[5] = hn::MulAdd(acc[5], one, increment);
        acc[6] = hn::MulAdd(acc[6], one, increment);
        acc[7] = hn::MulAdd(acc[7], one, increment);
        acc[8] = hn::MulAdd(acc[8], one, increment);
        acc[9] = hn::MulAdd(acc[9], one, increment);
        acc[10] = hn::MulAdd(acc[10], one, increment);
        acc[11] = hn::MulAdd(acc[11], one, increment);
    }
    auto sum = acc[0];
    for (std::size_t c = 1; c < kChains; ++c) sum = hn::Add(sum, acc[c]);
    *sink = hn::GetLane(sum);
    return iterations * static_cast<std::int64_t>(kChains * hn::Lanes(d) * 2);
}

}  // namespace nnfuse::bench::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include <algorithm>
#include <chrono>

#include "bench/fma_peak.hpp"

namespace nnfuse::bench {

HWY_EXPORT(MultiplyAddChains);

namespace {

constexpr int timed_runs = 5;
constexpr double min_run_seconds = 0.01;
constexpr std::int64_t iterations_per_call = 100000;

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double measure_fma_peak() {
    float sink = 0.0f;
    HWY_DYNAMIC_DISPATCH(MultiplyAddChains)(iterations_per_call, 1e-6f, &sink);  // warm: clocks up, code cached
    double best = 0.0;
    for (int run = 0; run < timed_runs; ++run) {
        std::int64_t flops = 0;
        const auto start = std::chrono::steady_clock::now();
        double seconds = 0.0;
        do {
            flops += HWY_DYNAMIC_DISPATCH(MultiplyAddChains)(iterations_per_call, 1e-6f, &sink);
            seconds = seconds_since(start);
        } while (seconds < min_run_seconds);
        best = std::max(best, static_cast<double>(flops) / seconds);
    }
    benchmark::DoNotOptimize(sink);
    return best;
}

}  // namespace

double fma_peak_flops_per_second() {
    static const double peak = measure_fma_peak();
    return peak;
}

flops_row::flops_row(std::int64_t flops_per_iteration)
    : flops_per_iteration_(flops_per_iteration), start_(std::chrono::steady_clock::now()) {}

void flops_row::finish(benchmark::State& state) const {
    const double seconds = seconds_since(start_);
    const double flops = static_cast<double>(state.iterations()) * static_cast<double>(flops_per_iteration_);
    const double rate = seconds > 0.0 ? flops / seconds : 0.0;
    const double peak = fma_peak_flops_per_second();
    state.counters["GFLOPps"] = rate * 1e-9;
    state.counters["of_peak"] = rate / peak;
    state.counters["peak_GFLOPps"] = peak * 1e-9;
}

}  // namespace nnfuse::bench

#endif  // HWY_ONCE
