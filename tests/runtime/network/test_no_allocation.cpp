// A training step allocates nothing (the "no allocation inside a training step"): this executable replaces
// the global operator new to count allocations, and fit's on_batch_end marks where each step ends. Everything
// between two consecutive batch ends (widening the next batch, forward, loss, backward, the optimizer update) must
// allocate nothing once the first steps have built the optimizer's state, with 1 thread and with 2.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

#include "fashion_mnist.gen.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"
#include "tests/runtime/network/test_helpers.hpp"

namespace {
std::atomic<std::size_t> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

// Allocations counted between consecutive batch ends of a 2-epoch fit, from the third batch of each epoch on.
std::vector<std::size_t> allocations_per_step(nnfuse::optimizer& optimizer, std::size_t threads, std::size_t batch) {
    const auto data = test_support::random_images(4 * batch + 3, 28, 28, 10, 11);
    nnfuse::generated::fashion_mnist::Net net(batch + 1);
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

}  // namespace

TEST_CASE("a training step allocates nothing", "[network][allocation]") {
    for (const std::size_t threads : {std::size_t{1}, std::size_t{2}}) {
        for (const std::size_t batch : {std::size_t{32}, std::size_t{200}}) {
            INFO(threads << " threads, batch " << batch);
            nnfuse::sgd sgd(0.01f, 0.9f);
            nnfuse::adam adam(0.001f);
            for (nnfuse::optimizer* optimizer :
                 {static_cast<nnfuse::optimizer*>(&sgd), static_cast<nnfuse::optimizer*>(&adam)}) {
                const auto counts = allocations_per_step(*optimizer, threads, batch);
                REQUIRE(counts.size() == 2 * 3);  // batches 2, 3 and 4 (the last, 3 rows) of each epoch
                for (const std::size_t count : counts) CHECK(count == 0);
            }
        }
    }
}
