#include "runtime/parallel/chunk_runner.hpp"

#include <chrono>
#include <stdexcept>
#include <utility>

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

// Set once by each worker thread; every other thread is a caller.
thread_local std::size_t this_thread_index = 0;

}  // namespace

std::size_t chunk_runner::calling_thread() { return this_thread_index; }

chunk_runner::chunk_runner(std::size_t threads) { set_threads(threads); }

chunk_runner::~chunk_runner() { stop_workers(); }

void chunk_runner::set_threads(std::size_t threads) {
    if (threads == 0) throw std::invalid_argument("chunk_runner: threads must be at least 1");
    if (threads == this->threads()) return;
    stop_workers();
    stopping_.store(false);
    workers_.reserve(threads - 1);
    // A worker starts from the generation current now, not when its thread first runs: a stop or a job published
    // before that must still be seen as new.
    const std::uint64_t generation = ticket_.load(std::memory_order_acquire) >> 32;
    for (std::size_t t = 1; t < threads; ++t) {
        workers_.emplace_back([this, t, threads, generation] { work(t, threads, generation); });
    }
}

void chunk_runner::stop_workers() {
    if (workers_.empty()) return;
    stopping_.store(true);
    ticket_.fetch_add(std::uint64_t{1} << 32, std::memory_order_acq_rel);  // a new generation wakes them
    wake_workers();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
}

namespace {

// The item thread `thread` of `threads` claims next among the unclaimed ones (`claimed`: one bit per item), or
// `items` when none is left: its own chunks first, then the tasks, then the other threads' chunks.
std::size_t next_masked_item(std::uint64_t claimed, std::size_t chunks, std::size_t items, std::size_t thread,
                             std::size_t threads) {
    for (std::size_t item = thread; item < chunks; item += threads) {
        if ((claimed >> item & 1u) == 0) return item;
    }
    for (std::size_t item = chunks; item < items; ++item) {
        if ((claimed >> item & 1u) == 0) return item;
    }
    for (std::size_t item = 0; item < chunks; ++item) {
        if ((claimed >> item & 1u) == 0) return item;
    }
    return items;
}

}  // namespace

void chunk_runner::run_claimed_chunks(std::uint64_t generation, std::size_t thread, std::size_t threads) {
    // Acquire: if these are already the next job's fields, the ticket read below is at least that job's closed one.
    const call_fn call = call_.load(std::memory_order_acquire);
    const void* const context = context_.load(std::memory_order_acquire);
    const std::size_t chunks = chunks_.load(std::memory_order_acquire);
    const std::size_t items = items_.load(std::memory_order_acquire);
    const bool masked = items <= max_masked_items;
    std::uint64_t ticket = ticket_.load(std::memory_order_acquire);
    while (true) {
        // Another generation: the fields read above may be the next job's; nothing was claimed with them.
        if (ticket >> 32 != generation) return;
        const std::uint64_t low = ticket & 0xffffffffu;
        if (low == closed_job) return;
        const std::size_t item =
            masked ? next_masked_item(low, chunks, items, thread, threads) : static_cast<std::size_t>(low);
        if (item >= items) return;
        const std::uint64_t claimed = masked ? ticket | std::uint64_t{1} << item : ticket + 1;
        if (!ticket_.compare_exchange_weak(ticket, claimed, std::memory_order_acq_rel, std::memory_order_acquire)) {
            continue;
        }
        if (item < failed_item_.load(std::memory_order_acquire)) {
            try {
                call(context, item);
            } catch (...) {
                record_error(item, std::current_exception());
            }
        }
        done_.fetch_add(1, std::memory_order_acq_rel);
        ticket = ticket_.load(std::memory_order_acquire);
    }
}

void chunk_runner::record_error(std::size_t item, std::exception_ptr error) {
    const std::lock_guard lock(error_mutex_);
    if (item >= failed_item_.load(std::memory_order_relaxed)) return;
    error_ = std::move(error);
    failed_item_.store(item, std::memory_order_release);
}

void chunk_runner::run_on_workers(std::size_t chunks, std::size_t items, call_fn call, const void* context) {
    if (items >= closed_job) throw std::length_error("chunk_runner: too many chunks and tasks in one run");
    // Release: a worker that reads any of these knows the previous job is closed (see run_claimed_chunks).
    call_.store(call, std::memory_order_release);
    context_.store(context, std::memory_order_release);
    chunks_.store(chunks, std::memory_order_release);
    items_.store(items, std::memory_order_release);
    done_.store(0, std::memory_order_relaxed);
    failed_item_.store(no_failed_item, std::memory_order_relaxed);
    const std::uint64_t generation = (ticket_.load(std::memory_order_relaxed) >> 32) + 1;
    ticket_.store(generation << 32, std::memory_order_release);  // publishes the fields above
    wake_workers();
    run_claimed_chunks(generation, 0, threads());
    // Left: chunks that workers are running now.
    for (unsigned spins = 0; done_.load(std::memory_order_acquire) != items; ++spins) {
        if (spins < 4096) {
            cpu_relax();
        } else {
            std::this_thread::yield();
        }
    }
    // Closed before the next job's fields are written: a late worker that reads those fields with this job's
    // ticket still current must not take them for unclaimed items of this job.
    ticket_.store(generation << 32 | closed_job, std::memory_order_relaxed);
    // done_ counted every item after its body returned or threw: no worker touches error_ any more.
    if (failed_item_.load(std::memory_order_acquire) != no_failed_item) {
        std::rethrow_exception(std::exchange(error_, nullptr));
    }
}

void chunk_runner::wake_workers() {
    // A worker checks for a new generation under the mutex before it sleeps: taking the mutex here means it has
    // either seen the new ticket or is already waiting when notify_all comes.
    { const std::lock_guard lock(sleep_mutex_); }
    wake_.notify_all();
}

void chunk_runner::work(std::size_t thread, std::size_t threads, std::uint64_t seen) {
    this_thread_index = thread;
    while (true) {
        // Wait for a new generation: spinning first, then sleeping.
        const auto published = [&] { return ticket_.load(std::memory_order_acquire) >> 32 != seen; };
        const auto spin_until = std::chrono::steady_clock::now() + spin_time;
        for (unsigned spins = 0; !published(); ++spins) {
            if (spins % 64 != 63 || std::chrono::steady_clock::now() < spin_until) {
                cpu_relax();
            } else {
                std::unique_lock lock(sleep_mutex_);
                wake_.wait(lock, published);
            }
        }
        const std::uint64_t ticket = ticket_.load(std::memory_order_acquire);
        if (stopping_.load(std::memory_order_acquire)) return;
        seen = ticket >> 32;
        run_claimed_chunks(seen, thread, threads);
    }
}

}  // namespace nnfuse
