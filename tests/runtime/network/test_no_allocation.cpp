// A training step allocates nothing (the "no allocation inside a training step"), for the reference MLP and
// the convolutional sample: this executable replaces the C allocation functions (malloc, calloc, realloc and the
// aligned ones, which operator new, std::vector and Highway's AllocateAligned all end in) to count calls, and fit's
// on_batch_end marks where each step ends. Everything between two consecutive batch ends (widening the next batch,
// forward, loss, backward, the optimizer update) must allocate nothing once the first steps have built the
// optimizer's state, with 1 thread and with 2.
// Under AddressSanitizer (scripts/check --sanitize), which owns malloc, only operator new is counted.
#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <new>
#include <vector>

#include "fashion_mnist.gen.hpp"
#include "fashion_mnist_cnn.gen.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"
#include "tests/runtime/network/test_helpers.hpp"

namespace {
std::atomic<std::size_t> allocations{0};
}  // namespace

#if defined(__SANITIZE_ADDRESS__)
void* operator new(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#else
// glibc's own entry points: memory from them is released by glibc's free, which stays as it is.
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);

void* malloc(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_realloc(p, size);
}
void* memalign(std::size_t alignment, std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_memalign(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) { return memalign(alignment, size); }
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
    void* p = memalign(alignment, size);
    if (p == nullptr) return ENOMEM;
    *out = p;
    return 0;
}
}
#endif

namespace {

// Allocations counted between consecutive batch ends of a 2-epoch fit, from the third batch of each epoch on.
template <class Net>
std::vector<std::size_t> allocations_per_step(nnfuse::optimizer& optimizer, std::size_t threads, std::size_t batch) {
    const auto data = test_support::random_images(4 * batch + 3, 28, 28, 10, 11);
    Net net(batch + 1);
    nnfuse::initialize_variables(net, 3);
    net.set_threads(threads);
    nnfuse::trainer trainer(net, optimizer);
    std::vector<std::size_t> counts;
    counts.reserve(64);
    std::size_t at_last_end = 0;
    nnfuse::fit_options options;
    options.epochs = 2;
    options.batch_size = batch;
    options.on_batch_end = [&](std::size_t, std::size_t b) {
        const std::size_t now = allocations.load(std::memory_order_relaxed);
        if (b >= 2) counts.push_back(now - at_last_end);
        at_last_end = now;
    };
    trainer.fit(data, options);
    return counts;
}

template <class Net>
void check_steps_allocate_nothing(std::initializer_list<std::size_t> batches) {
    for (const std::size_t threads : {std::size_t{1}, std::size_t{2}}) {
        for (const std::size_t batch : batches) {
            INFO(threads << " threads, batch " << batch);
            nnfuse::sgd sgd(0.01f, 0.9f);
            nnfuse::adam adam(0.001f);
            for (nnfuse::optimizer* optimizer :
                 {static_cast<nnfuse::optimizer*>(&sgd), static_cast<nnfuse::optimizer*>(&adam)}) {
                const auto counts = allocations_per_step<Net>(*optimizer, threads, batch);
                REQUIRE(counts.size() == 2 * 3);  // batches 2, 3 and 4 (the last, 3 rows) of each epoch
                for (const std::size_t count : counts) CHECK(count == 0);
            }
        }
    }
}

}  // namespace

TEST_CASE("the allocation counter sees malloc, operator new and aligned allocations", "[network][allocation]") {
    // Without this, a counter that missed the allocator would pass the tests below.
    const std::size_t before = allocations.load();
    auto owned = std::make_unique<std::vector<float>>(100);
    CHECK(allocations.load() >= before + 2);
#if !defined(__SANITIZE_ADDRESS__)
    void* block = std::malloc(64);
    std::free(block);
    CHECK(allocations.load() >= before + 3);
    void* aligned = std::aligned_alloc(64, 128);
    std::free(aligned);
    CHECK(allocations.load() >= before + 4);
#endif
}

TEST_CASE("a training step allocates nothing: the reference MLP", "[network][allocation]") {
    check_steps_allocate_nothing<nnfuse::generated::fashion_mnist::Net>({32, 200});
}

TEST_CASE("a training step allocates nothing: the convolutional sample", "[network][allocation]") {
    // Batch 24 is three 8-row chunks, so on 2 threads the worker runs chunks (and the flipped kernels' tasks) too.
    check_steps_allocate_nothing<nnfuse::generated::fashion_mnist_cnn::Net>({24, 70});
}
