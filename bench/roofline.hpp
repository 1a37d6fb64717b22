// bench/roofline: the copy-bandwidth roofline put next to a memory-bound benchmark row.
//
// copy_bytes_per_second(working_set_bytes)
//   ensures: the best bandwidth of std::memcpy from one buffer into another when source and destination
//            together span working_set_bytes (each half of it), counted as bytes read + bytes written
//            (= working_set_bytes per copy), i.e. counted as the BN rows count theirs. The buffers are
//            first touched, then copied repeatedly (best of 5 runs of >= 10 ms), so they sit in whichever
//            cache level (or DRAM) a row with that working set sits in. Measured once per size, cached.
//   Single-threaded; not thread-safe (call it from benchmark functions, which run one at a time).
//
// roofline_row row(bytes_per_iteration); for (auto _ : state) {...} row.finish(state);
//   requires: constructed just before the timed loop, finish called just after it; bytes_per_iteration =
//             the bytes one iteration must touch at least once (also its working set).
//   ensures:  state's bytes_per_second = bytes_per_iteration * iterations / time (Google Benchmark's time,
//             CPU time unless the row uses real time), and two counters: copy_GiBps, the copy bandwidth at
//             that working set in 2^30 bytes/s (the "G/s" Google Benchmark prints for bytes_per_second), and
//             of_copy, the row's bytes per wall-clock second over its loop divided by the copy bandwidth
//             (1.0: the row moves its bytes as fast as memcpy moves as many). of_copy times the loop by the
//             wall clock, as the copy is timed, and is a plain ratio (a Google Benchmark rate would print "/s").
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace nnfuse::bench {

double copy_bytes_per_second(std::size_t working_set_bytes);

class roofline_row {
public:
    explicit roofline_row(std::int64_t bytes_per_iteration);
    void finish(benchmark::State& state) const;

private:
    std::int64_t bytes_per_iteration_;
    std::chrono::steady_clock::time_point start_;
};

}  // namespace nnfuse::bench
