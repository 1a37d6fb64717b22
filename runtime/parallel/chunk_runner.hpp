// chunk_runner: runs the chunks of a batch on the caller's thread and up to threads - 1 workers.
//
// run(chunks, body) calls body(chunk) once for every chunk in [0, chunks) and returns when all have returned.
// Each thread takes its own chunks first (thread t: chunks t, t + threads, ...), then whatever is left, so which
// thread runs a chunk can vary from run to run: a body writes only what belongs to its chunk (or to its thread:
// per_thread_copies). The generated Nets cut a batch into chunks by its row count alone (chunk_rows below) and merge
// per-chunk sums in chunk order (add_chunk_partials), so a step's results are bit-identical for any number of
// threads. The caller claims chunks too and waits only for chunks a worker has already started: a worker that is
// slow to wake (a busy machine) costs nothing, the caller does its share.
// With one thread or one chunk, run() is a plain loop on the caller's thread: no synchronization at all.
// Idle workers spin for a short while (a step's next parallel phase comes within microseconds), then sleep.
// A body may throw: run() then rethrows, once no body is running any more, the exception of the lowest-numbered item
// that threw, the same one for any thread count (every item below it has run; items above it may or may not have,
// so what they write is unspecified). One run() at a time (not reentrant, not thread-safe).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace nnfuse {

// Rows per chunk: a fixed partition of every batch, independent of the thread count. 64 rows keep a chunk's
// matrix products long enough (64 x 784 x 20 multiply-adds, about 20 us) that waking a worker is cheap next to it;
// a batch of 64 rows or fewer is one chunk and runs on one thread.
inline constexpr std::size_t chunk_rows = 64;

constexpr std::size_t chunk_count(std::size_t rows) { return (rows + chunk_rows - 1) / chunk_rows; }

// Inference sums nothing across rows, so any partition of a batch gives the same values: on one thread the Nets run
// a batch as one piece (bench/train_epoch's BM_evaluate/1024/1: 4.5-4.8 ms, in 64-row chunks 4.9-5.5), on more
// they cut it into two pieces per thread, rows [piece * rows / pieces, (piece + 1) * rows / pieces), at most one per
// training chunk: a thread that is late to start leaves the others a piece to take (BM_evaluate/256/2: 2.4-2.7 ms,
// with one piece per thread 3.0-3.4).
constexpr std::size_t inference_pieces(std::size_t rows, std::size_t threads) {
    if (threads <= 1) return 1;
    const std::size_t chunks = chunk_count(rows);
    return chunks < 2 * threads ? chunks : 2 * threads;
}

// total[i] += partials[k * size + i] for k = 0 .. chunks - 2, in that order (partials hold chunks 1, 2, ...).
void add_chunk_partials(float* total, const float* partials, std::size_t size, std::size_t chunks);

class chunk_runner {
public:
    explicit chunk_runner(std::size_t threads = 1);
    ~chunk_runner();
    chunk_runner(const chunk_runner&) = delete;
    chunk_runner& operator=(const chunk_runner&) = delete;

    // threads >= 1 (else std::invalid_argument); 0 is not "all cores" here: the caller decides that.
    void set_threads(std::size_t threads);
    std::size_t threads() const { return workers_.size() + 1; }

    // The thread running the calling body: 0 for the caller's thread (and outside any run), t in [1, threads) for
    // worker t. What per-thread storage (per_thread_copies) is indexed by.
    static std::size_t calling_thread();

    template <class Body>
    void run(std::size_t chunks, const Body& body) {
        run(chunks, 0, body);
    }

    // The same with `tasks` more work items after the chunks: body(chunks + t) runs task t, beside the chunks, on
    // whichever thread is free. A batch of one chunk runs on the caller's thread alone, its tasks too: a task's
    // output made on another core would cost the chunk more to fetch than the task saved.
    template <class Body>
    void run(std::size_t chunks, std::size_t tasks, const Body& body) {
        const std::size_t items = chunks + tasks;
        // One out-of-line copy of the body serves both paths: inlined into each, a generated Net's phases were
        // compiled twice (the Net's translation unit is most of a large model's build time).
        const call_fn call = [](const void* context, std::size_t item) __attribute__((noinline)) {
            (*static_cast<const Body*>(context))(item);
        };
        if (chunks <= 1 || workers_.empty()) {
            // A throwing item ends the loop: it is the lowest-numbered one that throws.
            for (std::size_t item = 0; item < items; ++item) call(&body, item);
            return;
        }
        run_on_workers(chunks, items, call, &body);
    }

private:
    using call_fn = void (*)(const void* context, std::size_t chunk);

    void run_on_workers(std::size_t chunks, std::size_t items, call_fn call, const void* context);
    // Claims and runs items of job `generation` as thread `thread` of `threads` (0: the caller) until none is left or
    // that job is over.
    void run_claimed_chunks(std::uint64_t generation, std::size_t thread, std::size_t threads);
    // Keeps `error` if `item` is the lowest-numbered item of this job that threw so far.
    void record_error(std::size_t item, std::exception_ptr error);
    void work(std::size_t thread, std::size_t threads, std::uint64_t seen_generation);
    void wake_workers();
    void stop_workers();

    std::vector<std::thread> workers_;
    // The job: generation in the high 32 bits of ticket_; in the low 32, for a job of at most 32 items, one bit
    // per claimed item, else the next unclaimed item, and closed_job once the job is over. A claim is a
    // compare-and-swap on ticket_, so a worker still looking at the previous job can never take an item of this
    // one. Small jobs (chunks and tasks together at most 32: batches up to ~2000 rows) are claimed owner first:
    // thread t takes chunks t, t + threads, ... before any other item, so with threads on time a chunk runs on the
    // same core in every phase of a step and its rows stay in that core's cache (batch 256 on 2 threads: 34.5 ->
    // 33.6 ms an epoch); a thread with nothing of its own left takes the tasks, then others' chunks.
    static constexpr std::size_t max_masked_items = 32;
    static constexpr std::uint64_t closed_job = 0xffffffffu;
    std::atomic<std::uint64_t> ticket_{0};
    std::atomic<call_fn> call_{nullptr};
    std::atomic<const void*> context_{nullptr};
    std::atomic<std::size_t> chunks_{0};
    std::atomic<std::size_t> items_{0};
    std::atomic<std::size_t> done_{0};
    std::atomic<bool> stopping_{false};
    // The lowest-numbered item of the job that threw (no_failed_item: none) and its exception. Items claimed above it
    // are skipped: the loop on one thread would not have reached them either.
    static constexpr std::size_t no_failed_item = ~std::size_t{0};
    std::atomic<std::size_t> failed_item_{no_failed_item};
    std::mutex error_mutex_;
    std::exception_ptr error_;
    // Where idle workers sleep; a worker checks for a new generation under the mutex before it waits.
    std::mutex sleep_mutex_;
    std::condition_variable wake_;
};

}  // namespace nnfuse
