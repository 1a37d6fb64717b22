// bench/roofline: see roofline.hpp.
#include "bench/roofline.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>

namespace nnfuse::bench {

namespace {

constexpr int timed_runs = 5;
constexpr double min_run_seconds = 0.01;

struct freer {
    void operator()(char* p) const { std::free(p); }
};

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double measure_copy(std::size_t working_set_bytes) {
    const std::size_t half = std::max<std::size_t>(working_set_bytes / 2, 64);
    // 64-byte aligned, as hwy::AllocateAligned gives the BN rows their tensors.
    const std::size_t bytes = (half + 63) / 64 * 64;
    const std::unique_ptr<char, freer> from(static_cast<char*>(std::aligned_alloc(64, bytes)));
    const std::unique_ptr<char, freer> to(static_cast<char*>(std::aligned_alloc(64, bytes)));
    if (!from || !to) throw std::bad_alloc();
    std::memset(from.get(), 1, half);
    std::memset(to.get(), 2, half);
    std::memcpy(to.get(), from.get(), half);  // warm: both halves in the level they will be in

    double best = 0.0;
    for (int run = 0; run < timed_runs; ++run) {
        std::size_t copies = 0;
        const auto start = std::chrono::steady_clock::now();
        double seconds = 0.0;
        do {
            std::memcpy(to.get(), from.get(), half);
            benchmark::ClobberMemory();
            ++copies;
            seconds = seconds_since(start);
        } while (seconds < min_run_seconds);
        best = std::max(best, static_cast<double>(copies) * 2.0 * static_cast<double>(half) / seconds);
    }
    benchmark::DoNotOptimize(to.get());
    return best;
}

}  // namespace

double copy_bytes_per_second(std::size_t working_set_bytes) {
    static std::map<std::size_t, double> measured;
    const auto found = measured.find(working_set_bytes);
    if (found != measured.end()) return found->second;
    const double bandwidth = measure_copy(working_set_bytes);
    measured.emplace(working_set_bytes, bandwidth);
    return bandwidth;
}

roofline_row::roofline_row(std::int64_t bytes_per_iteration)
    : bytes_per_iteration_(bytes_per_iteration), start_(std::chrono::steady_clock::now()) {}

void roofline_row::finish(benchmark::State& state) const {
    const double seconds = seconds_since(start_);
    const auto total = static_cast<std::int64_t>(state.iterations()) * bytes_per_iteration_;
    state.SetBytesProcessed(total);
    const double copy = copy_bytes_per_second(static_cast<std::size_t>(bytes_per_iteration_));
    state.counters["copy_GiBps"] = copy / (1024.0 * 1024.0 * 1024.0);
    state.counters["of_copy"] = seconds > 0.0 ? static_cast<double>(total) / seconds / copy : 0.0;
}

}  // namespace nnfuse::bench
