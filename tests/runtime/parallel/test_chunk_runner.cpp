// chunk_runner: every chunk runs exactly once per run, whatever the thread count and however quickly runs follow
// one another; runners created and destroyed at once do not hang; a throwing body's exception reaches the caller, the
// same one for any thread count; partials are added in chunk order.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runtime/parallel/chunk_runner.hpp"

TEST_CASE("every chunk runs exactly once, on any number of threads", "[parallel]") {
    for (const std::size_t threads : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{8}}) {
        INFO(threads << " threads");
        nnfuse::chunk_runner runner(threads);
        REQUIRE(runner.threads() == threads);
        for (std::size_t run = 0; run < 2000; ++run) {
            // 0 and 1: no job for the workers at all; up to 32 items are claimed by bitmask, more by counter.
            constexpr std::size_t chunk_counts[] = {0, 1, 2, 3, 4, 5, 6, 31, 32, 33, 70};
            const std::size_t chunks = chunk_counts[run % std::size(chunk_counts)];
            std::vector<std::atomic<int>> calls(chunks);
            runner.run(chunks, [&](std::size_t chunk) { calls[chunk].fetch_add(1); });
            for (std::size_t c = 0; c < chunks; ++c) REQUIRE(calls[c].load() == 1);
        }
    }
}

TEST_CASE("tasks beside the chunks run exactly once; one chunk runs everything on the caller's thread", "[parallel]") {
    for (const std::size_t threads : {std::size_t{1}, std::size_t{2}, std::size_t{3}}) {
        INFO(threads << " threads");
        nnfuse::chunk_runner runner(threads);
        const std::thread::id caller = std::this_thread::get_id();
        for (std::size_t run = 0; run < 1000; ++run) {
            const std::size_t chunks = run % 2 == 0 ? run % 5 : 29 + run % 5, tasks = run % 3;  // 29 + 4 + 2 > 32
            std::vector<std::atomic<int>> calls(chunks + tasks);
            std::atomic<bool> all_on_caller{true};
            runner.run(chunks, tasks, [&](std::size_t item) {
                calls[item].fetch_add(1);
                if (std::this_thread::get_id() != caller) all_on_caller.store(false);
            });
            for (std::size_t item = 0; item < chunks + tasks; ++item) REQUIRE(calls[item].load() == 1);
            if (chunks <= 1) REQUIRE(all_on_caller.load());
        }
    }
}

TEST_CASE("runners stopped before their workers ever ran, and thread counts changed, do not hang", "[parallel]") {
    for (int i = 0; i < 200; ++i) {
        nnfuse::chunk_runner runner(4);
        if (i % 2 == 0) runner.set_threads(2);
    }
    nnfuse::chunk_runner runner;
    REQUIRE(runner.threads() == 1);
    REQUIRE_THROWS_AS(runner.set_threads(0), std::invalid_argument);
    std::atomic<int> total{0};
    for (const std::size_t threads : {std::size_t{2}, std::size_t{1}, std::size_t{4}}) {
        runner.set_threads(threads);
        runner.run(5, [&](std::size_t chunk) { total.fetch_add(static_cast<int>(chunk) + 1); });
    }
    CHECK(total.load() == 3 * 15);
}

TEST_CASE("the lowest-numbered throwing item's exception leaves run(), on any number of threads", "[parallel]") {
    struct job {
        std::size_t chunks, tasks, first_throwing, second_throwing;
    };
    // Bitmask and counter claims; the throwing items are chunks a worker owns (odd) or the caller owns, and tasks.
    constexpr job jobs[] = {{1, 0, 0, 0}, {2, 0, 1, 1}, {5, 0, 1, 3}, {5, 2, 2, 6}, {6, 0, 4, 5}, {40, 0, 7, 33}};
    for (const std::size_t threads : {std::size_t{1}, std::size_t{2}, std::size_t{3}}) {
        nnfuse::chunk_runner runner(threads);
        for (std::size_t run = 0; run < 300; ++run) {
            const job& j = jobs[run % std::size(jobs)];
            INFO(threads << " threads, " << j.chunks << " chunks, " << j.tasks << " tasks");
            std::vector<std::atomic<int>> calls(j.chunks + j.tasks);
            const auto body = [&](std::size_t item) {
                calls[item].fetch_add(1);
                // The higher item throws first when it runs at once and the lower one waits a little.
                if (item == j.first_throwing) std::this_thread::sleep_for(std::chrono::microseconds(run % 3 * 50));
                if (item == j.first_throwing || item == j.second_throwing) {
                    throw std::runtime_error("item " + std::to_string(item));
                }
            };
            REQUIRE_THROWS_WITH(runner.run(j.chunks, j.tasks, body), "item " + std::to_string(j.first_throwing));
            // Every item up to it ran once; those above it at most once, and not at all on one thread (a plain loop).
            for (std::size_t item = 0; item < calls.size(); ++item) {
                if (item <= j.first_throwing) {
                    REQUIRE(calls[item].load() == 1);
                } else {
                    REQUIRE(calls[item].load() <= (threads == 1 ? 0 : 1));
                }
            }
            // The runner is whole again: the next run takes every item once and throws nothing.
            std::vector<std::atomic<int>> after(j.chunks + j.tasks);
            runner.run(j.chunks, j.tasks, [&](std::size_t item) { after[item].fetch_add(1); });
            for (const auto& count : after) REQUIRE(count.load() == 1);
        }
    }
}

TEST_CASE("chunk_count and add_chunk_partials", "[parallel]") {
    CHECK(nnfuse::chunk_count(1) == 1);
    CHECK(nnfuse::chunk_count(nnfuse::chunk_rows) == 1);
    CHECK(nnfuse::chunk_count(nnfuse::chunk_rows + 1) == 2);
    // 37 values (every SIMD tail), chunks 1..3 in partials: the sums of exactly representable values are exact.
    const std::size_t size = 37;
    std::vector<float> total(size), partials(3 * size);
    for (std::size_t i = 0; i < size; ++i) {
        total[i] = static_cast<float>(i);
        for (std::size_t k = 0; k < 3; ++k) partials[k * size + i] = static_cast<float>((k + 1) * 1000 + i);
    }
    nnfuse::add_chunk_partials(total.data(), partials.data(), size, 4);
    for (std::size_t i = 0; i < size; ++i) CHECK(total[i] == static_cast<float>(6000 + 4 * i));
    nnfuse::add_chunk_partials(total.data(), partials.data(), size, 1);  // one chunk: nothing to add
    CHECK(total[1] == 6004.0f);
}
