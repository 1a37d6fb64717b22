#include "runtime/parallel/chunk_runner.hpp"

#include <chrono>
#include <stdexcept>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace nnfuse {

namespace {

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

// How long a thread spins before it sleeps: longer than the gaps between a step's parallel phases (the
// optimizer update and the next batch's gather take tens of microseconds), far shorter than a person notices.
constexpr auto spin_time = std::chrono::microseconds(200);

}  // namespace

void add_chunk_partials(float* __restrict total, const float* __restrict partials, std::size_t size,
                        std::size_t chunks) {
    for (std::size_t k = 0; k + 1 < chunks; ++k) {
        const float* __restrict partial = partials + k * size;
        for (std::size_t i = 0; i < size; ++i) total[i] += partial[i];
    }
}

void chunk_runner::barrier::arrive_and_wait() {
    const std::uint32_t phase = phase_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == parties_) {
        arrived_.store(0, std::memory_order_relaxed);
        phase_.store(phase + 1, std::memory_order_release);
        phase_.notify_all();
        return;
    }
    const auto spin_until = std::chrono::steady_clock::now() + spin_time;
    for (unsigned spins = 0;; ++spins) {
        if (phase_.load(std::memory_order_acquire) != phase) return;
        cpu_relax();
        if (spins % 64 == 63 && std::chrono::steady_clock::now() > spin_until) break;
    }
    while (phase_.load(std::memory_order_acquire) == phase) phase_.wait(phase, std::memory_order_acquire);
}

chunk_runner::chunk_runner(std::size_t threads) { set_threads(threads); }

chunk_runner::~chunk_runner() { stop_workers(); }

void chunk_runner::set_threads(std::size_t threads) {
    if (threads == 0) throw std::invalid_argument("chunk_runner: threads must be at least 1");
    if (threads == this->threads()) return;
    stop_workers();
    if (threads == 1) return;
    start_ = std::make_unique<barrier>(threads);
    finish_ = std::make_unique<barrier>(threads);
    stopping_ = false;
    workers_.reserve(threads - 1);
    for (std::size_t t = 1; t < threads; ++t) workers_.emplace_back([this, t] { work(t); });
}

void chunk_runner::stop_workers() {
    if (workers_.empty()) return;
    stopping_ = true;
    start_->arrive_and_wait();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
    start_.reset();
    finish_.reset();
}

void chunk_runner::run_share(std::size_t thread, std::size_t chunks) const {
    for (std::size_t chunk = thread; chunk < chunks; chunk += threads()) call_(context_, chunk);
}

void chunk_runner::run_on_workers(std::size_t chunks, call_fn call, const void* context) {
    call_ = call;
    context_ = context;
    chunks_ = chunks;
    start_->arrive_and_wait();
    run_share(0, chunks);
    finish_->arrive_and_wait();
}

void chunk_runner::work(std::size_t thread) {
    while (true) {
        start_->arrive_and_wait();
        if (stopping_) return;
        run_share(thread, chunks_);
        finish_->arrive_and_wait();
    }
}

}  // namespace nnfuse
