// per_thread_copies: one copy of an array derived from the variables for each thread of a chunk_runner, each made by
// the thread that reads it, once a step.
//
// Why: a derived array that every chunk of a step reads (the kernel with BN's gamma folded in) costs the thread that
// rewrites it one cache-line invalidation per line that other cores read in the previous step: the fold of the
// reference model took 11 us on 2 threads against 2 us on one (batch 256). With a copy per thread, each line stays in
// the cache of the one core that uses it. Copies made from the same inputs by the same code are the same bit for
// bit, so which thread runs a chunk changes no result.
//
// begin_step(threads)  (serial, before the step's phases that read the copies) requires threads >= 1 and no run in
//                      progress; ensures every copy counts as stale and there is a copy for each of threads threads.
// this_threads_copy(make)  (inside a body of a chunk_runner of at most the threads given to begin_step, which must
//                      have come first) returns the calling thread's copy, after calling make(float* copy) first if
//                      that copy was not made since begin_step. make must fill all of what it later reads.
// Copies are cache-line aligned and floats() long; parts of one start at whole cache lines (cache_line_floats).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hwy/aligned_allocator.h"
#include "runtime/cache_line.hpp"
#include "runtime/parallel/chunk_runner.hpp"

namespace nnfuse {

class per_thread_copies {
public:
    explicit per_thread_copies(std::size_t floats) : floats_(floats), stride_(cache_line_floats(floats)) {}

    std::size_t floats() const { return floats_; }

    void begin_step(std::size_t threads);

    template <class Make>
    float* this_threads_copy(const Make& make) {
        const std::size_t thread = chunk_runner::calling_thread();
        float* const copy = copies_.get() + thread * stride_;
        if (made_in_step_[thread].step != step_) {
            make(copy);
            made_in_step_[thread].step = step_;
        }
        return copy;
    }

private:
    // Written only by its own thread: one cache line each, so that no two threads write the same line.
    struct alignas(cache_line_bytes) made_in {
        std::uint64_t step = 0;
    };

    std::size_t floats_, stride_;
    std::uint64_t step_ = 0;  // steps begun; copies made in step 0 do not exist
    hwy::AlignedFreeUniquePtr<float[]> copies_;
    std::vector<made_in> made_in_step_;
};

}  // namespace nnfuse
