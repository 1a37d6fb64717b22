// chunk_runner: runs the chunks of a batch on the caller's thread and up to threads - 1 workers.
//
// run(chunks, body) calls body(chunk) once for every chunk in [0, chunks) and returns when all have returned.
// Chunk k runs on thread k % threads(), but nothing may depend on that: a body writes only what belongs to its
// chunk. The generated Nets cut a batch into chunks by its row count alone (chunk_rows below) and merge per-chunk
// sums in chunk order (add_chunk_partials), so a step's results are bit-identical for any number of threads.
// With one thread or one chunk, run() is a plain loop on the caller's thread: no synchronization at all.
// Workers wait for work spinning for a short while (a training step's next parallel phase comes within
// microseconds), then sleep. Bodies must not throw. One run() at a time (not reentrant, not thread-safe).
#pragma once

#include <atomic>
#include <memory>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace nnfuse {

// Rows per chunk: a fixed partition of every batch, independent of the thread count. 64 rows keep a chunk's
// matrix products long enough (64 x 784 x 20 multiply-adds, about 20 us) that waking a worker is cheap next to it;
// a batch of 64 rows or fewer is one chunk and runs on one thread.
inline constexpr std::size_t chunk_rows = 64;

constexpr std::size_t chunk_count(std::size_t rows) { return (rows + chunk_rows - 1) / chunk_rows; }

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

    template <class Body>
    void run(std::size_t chunks, const Body& body) {
        if (chunks <= 1 || workers_.empty()) {
            for (std::size_t chunk = 0; chunk < chunks; ++chunk) body(chunk);
            return;
        }
        run_on_workers(chunks, [](const void* context, std::size_t chunk) { (*static_cast<const Body*>(context))(chunk); },
                       &body);
    }

private:
    using call_fn = void (*)(const void* context, std::size_t chunk);

    // Every thread arrives, the last one to arrive releases the others: spinning first, then sleeping.
    class barrier {
    public:
        explicit barrier(std::size_t parties) : parties_(parties) {}
        void arrive_and_wait();
        std::size_t parties() const { return parties_; }

    private:
        std::size_t parties_;
        std::atomic<std::size_t> arrived_{0};
        std::atomic<std::uint32_t> phase_{0};
    };

    void run_on_workers(std::size_t chunks, call_fn call, const void* context);
    void run_share(std::size_t thread, std::size_t chunks) const;
    void work(std::size_t thread);
    void stop_workers();

    std::vector<std::thread> workers_;
    std::unique_ptr<barrier> start_, finish_;
    // The job, written before start_ and unchanged until finish_.
    call_fn call_ = nullptr;
    const void* context_ = nullptr;
    std::size_t chunks_ = 0;
    bool stopping_ = false;
};

}  // namespace nnfuse
