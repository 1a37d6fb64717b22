// per_thread_copies: each thread of a run reads a copy made by itself for the current step, made once per step; a
// thread's index names its own thread; copies are whole cache lines apart and survive no begin_step.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/cache_line.hpp"
#include "runtime/parallel/chunk_runner.hpp"
#include "runtime/parallel/per_thread_copies.hpp"

namespace {

bool cache_line_aligned(const float* p) { return reinterpret_cast<std::uintptr_t>(p) % nnfuse::cache_line_bytes == 0; }

}  // namespace

TEST_CASE("cache_line_floats rounds up to whole cache lines", "[parallel]") {
    CHECK(nnfuse::cache_line_floats(0) == 0);
    CHECK(nnfuse::cache_line_floats(1) == 16);
    CHECK(nnfuse::cache_line_floats(16) == 16);
    CHECK(nnfuse::cache_line_floats(15680) == 15680);
    CHECK(nnfuse::cache_line_floats(15681) == 15696);
}

TEST_CASE("a thread's copy is made once a step, by that thread, and is that thread's alone", "[parallel]") {
    constexpr std::size_t floats = 37;  // not whole cache lines
    for (const std::size_t threads : {std::size_t{1}, std::size_t{2}, std::size_t{3}}) {
        INFO(threads << " threads");
        nnfuse::chunk_runner runner(threads);
        nnfuse::per_thread_copies copies(floats);
        REQUIRE(copies.floats() == floats);
        CHECK(nnfuse::chunk_runner::calling_thread() == 0);  // the caller, outside any run
        for (std::uint64_t step = 1; step <= 300; ++step) {
            copies.begin_step(runner.threads());
            std::mutex mutex;
            std::map<std::size_t, int> makes;                   // thread -> copies made this step
            std::map<std::size_t, std::thread::id> thread_ids;  // thread index -> the thread that had it
            // Catch's assertions are for the test's own thread: workers only set flags.
            std::atomic<bool> all_read_their_step{true}, all_aligned{true}, one_thread_per_index{true};
            runner.run(4 + step % 5, [&](std::size_t) {
                const std::size_t thread = nnfuse::chunk_runner::calling_thread();
                const float* copy = copies.this_threads_copy([&](float* fresh) {
                    for (std::size_t i = 0; i < floats; ++i) fresh[i] = static_cast<float>(step * 100 + thread);
                    const std::lock_guard lock(mutex);
                    ++makes[thread];
                });
                {
                    const std::lock_guard lock(mutex);
                    const auto at = thread_ids.emplace(thread, std::this_thread::get_id()).first;
                    if (at->second != std::this_thread::get_id()) one_thread_per_index.store(false);
                }
                if (!cache_line_aligned(copy)) all_aligned.store(false);
                for (std::size_t i = 0; i < floats; ++i) {
                    if (copy[i] != static_cast<float>(step * 100 + thread)) all_read_their_step.store(false);
                }
            });
            REQUIRE(all_read_their_step.load());
            REQUIRE(all_aligned.load());
            REQUIRE(one_thread_per_index.load());
            for (const auto& [thread, made] : makes) {
                REQUIRE(thread < threads);
                REQUIRE(made == 1);
            }
            REQUIRE(makes.size() == thread_ids.size());
        }
    }
}

TEST_CASE("more threads than before: every copy is made again", "[parallel]") {
    nnfuse::per_thread_copies copies(16);
    int makes = 0;
    const auto use = [&] {
        return copies.this_threads_copy([&](float* copy) { copy[0] = static_cast<float>(++makes); });
    };
    copies.begin_step(1);
    CHECK(use()[0] == 1.0f);
    CHECK(use()[0] == 1.0f);  // made already in this step
    copies.begin_step(3);     // grows: the copies are new memory
    CHECK(use()[0] == 2.0f);
    copies.begin_step(2);  // fewer threads: the copies stay, but a new step makes them stale
    CHECK(use()[0] == 3.0f);
    CHECK(makes == 3);
    REQUIRE_THROWS_AS(copies.begin_step(0), std::invalid_argument);
}
