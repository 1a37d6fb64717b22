// chunk_exchange: training one batch on several processes, each computing some of its chunks, with the same bits
// as one process (runtime/distributed/ implements it over MPI).
//
// A training step cuts its batch into chunks by row count alone (chunk_runner.hpp) and merges the chunks' partial
// results (BN moments, gradient sums, loss sums) in chunk order between its parallel phases. With an exchange set
// (network::set_chunk_exchange), a generated Net computes only the chunks share(chunks) gives this process, and
// after each parallel phase of a training step calls exchange(regions, chunks): every chunk's region then holds
// what the process that computed it wrote, on every process, and the merges run as in one process. The step's
// result is bit-identical to one process's for any number of processes and threads, provided every process starts
// from the same state (weights, optimizer, seed) and runs the same SIMD target.
//
// chunk_region: one per-chunk output of a phase, `bytes` per chunk: chunk 0's at `first`, chunk c's at
//   rest + (c - 1) * bytes (a reduction's total and partials, chunk_slots; or one array of records, chunk_records).
// processes(), process(): how many processes train together (>= 1), and this one's index among them.
// share_of(p, chunks): requires chunks >= 1, p < processes(); ensures the shares of all processes are disjoint,
//   contiguous, in process order, and cover [0, chunks); a share may be empty (more processes than chunks). Every
//   process computes the same shares. share(chunks) is this process's.
// exchange(regions, chunks): collective: every process calls it with the same regions (sizes) and chunks, in the
//   same order. Throws std::runtime_error naming the failure when a process has gone.
#pragma once

#include <cstddef>
#include <span>

namespace nnfuse {

struct chunk_share {
    std::size_t first = 0, count = 0;
};

struct chunk_region {
    std::byte* first = nullptr;
    std::byte* rest = nullptr;
    std::size_t bytes = 0;

    std::byte* chunk(std::size_t c) const { return c == 0 ? first : rest + (c - 1) * bytes; }
};

// A reduction's slots: chunk 0 sums into the total, chunk c >= 1 into partials[c - 1] (the Net's chunk_slot).
inline chunk_region chunk_slots(float* total, float* partials, std::size_t floats) {
    return {reinterpret_cast<std::byte*>(total), reinterpret_cast<std::byte*>(partials), floats * sizeof(float)};
}

// One record of `count` elements per chunk, chunk c's at records + c * count.
template <class T>
chunk_region chunk_records(T* records, std::size_t count) {
    auto* bytes = reinterpret_cast<std::byte*>(records);
    return {bytes, bytes + count * sizeof(T), count * sizeof(T)};
}

class chunk_exchange {
public:
    virtual ~chunk_exchange() = default;
    virtual std::size_t processes() const = 0;
    virtual std::size_t process() const = 0;
    virtual chunk_share share_of(std::size_t process, std::size_t chunks) const = 0;
    chunk_share share(std::size_t chunks) const { return share_of(process(), chunks); }
    virtual void exchange(std::span<const chunk_region> regions, std::size_t chunks) = 0;
};

}  // namespace nnfuse
