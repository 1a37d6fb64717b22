// nnfuse::kernels::ThreadScratch(floats): a per-thread buffer of at least `floats` floats, for a kernel that needs
// more working memory than a 32 KiB stack tile for the length of one call (the Conv2D input gradient's flipped kernel,
// conv2d-inl.h).
//   requires: floats >= 1; the caller is done with the buffer before its thread calls ThreadScratch again (kernels
//             neither nest nor yield, so one buffer per thread suffices).
//   ensures:  a pointer aligned as hwy::AllocateAligned's, valid until the thread's next call or its exit; contents
//             unspecified. The heap is used only when a thread asks for more than it ever did before (its first
//             call, then a larger layer): a training step allocates nothing once each thread has seen its largest
//             layer. Throws std::bad_alloc when the allocation fails. The memory is freed at thread exit.
// Why per thread and not per call: a call runs per chunk of 8 to 64 samples, so an allocation per call would be
// paid every step (mmap and page faults above glibc's 128 KiB threshold); a static buffer would be shared across
// threads, and a sized thread_local array would sit in every thread's static TLS for every layer and target.
#pragma once

#include <cstddef>
#include <new>

#include "hwy/aligned_allocator.h"

namespace nnfuse::kernels {

inline float* ThreadScratch(std::size_t floats) {
    thread_local hwy::AlignedFreeUniquePtr<float[]> buffer;
    thread_local std::size_t capacity = 0;
    if (floats > capacity) {
        buffer = hwy::AllocateAligned<float>(floats);
        if (!buffer) {
            capacity = 0;
            throw std::bad_alloc();
        }
        capacity = floats;
    }
    return buffer.get();
}

}  // namespace nnfuse::kernels
