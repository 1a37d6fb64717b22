// bench/fma_peak: the arithmetic roofline put next to a compute-bound benchmark row.
//
// fma_peak_flops_per_second()
//   ensures: the best rate of float multiply-adds this core sustains on the best SIMD target Highway dispatches
//            to here, counted as 2 flops per lane: independent chains of hn::MulAdd on register operands (no
//            loads), as many chains as hide the multiply-add latency with the vector registers to spare (best of 5
//            runs of >= 10 ms). Measured once, then cached. On AMD Zen 4 a 512-bit multiply-add occupies both
//            256-bit FMA pipes, so this is the same flop rate as AVX2 would give, not twice it.
//   Single-threaded; not thread-safe (call it from benchmark functions, which run one at a time).
//
// flops_row row(flops_per_iteration); for (auto _ : state) {...} row.finish(state);
//   requires: constructed just before the timed loop, finish called just after it; flops_per_iteration = the
//             useful multiply-add flops of one iteration (2 per multiply-add; padding lanes not counted).
//   ensures:  two counters on state: GFLOPps, the row's flops per wall-clock second over its loop in 1e9, and
//             of_peak, that rate over fma_peak_flops_per_second() (1.0: every FMA slot did useful work), plus
//             peak_GFLOPps. Plain numbers, timed by the wall clock as the peak is (a Google Benchmark rate would
//             print "/s" and use CPU time).
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>

namespace nnfuse::bench {

double fma_peak_flops_per_second();

class flops_row {
public:
    explicit flops_row(std::int64_t flops_per_iteration);
    void finish(benchmark::State& state) const;

private:
    std::int64_t flops_per_iteration_;
    std::chrono::steady_clock::time_point start_;
};

}  // namespace nnfuse::bench
