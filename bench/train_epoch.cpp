// bench/train_epoch: seconds per training epoch of the reference model on the real Fashion-MNIST
// (60,000 samples), through the generated Net and the trainer, as a user runs it.
//   build/bench/train_epoch [--benchmark_repetitions=5]
// Rows: BM_train_epoch/<batch>/<optimizer: 0 sgd, 1 adam>/<threads>; the time is one epoch, median of the runs.
// A batch of 32 is one chunk (runtime/parallel/chunk_runner.hpp) and runs on one thread whatever the count; 1024
// is the large batch of the 2-thread target, 16 chunks, where the per-step work outside the chunks weighs least.
// The same data and Net are reused across iterations; weights keep training, which does not change
// the work per epoch.
// BM_evaluate/<batch>/<threads>: trainer.evaluate over the 10,000 test samples (fit's validation each epoch), with
// the weights of one epoch of training (SGD, batch 256); the time is one pass over the set.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "fashion_mnist.gen.hpp"
#include "runtime/data/fashion_mnist.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"

namespace {

const nnfuse::fashion_mnist_data& data() {
    static const nnfuse::fashion_mnist_data loaded = nnfuse::load_fashion_mnist();
    return loaded;
}

void BM_train_epoch(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    const bool adam = state.range(1) == 1;
    const auto threads = static_cast<std::size_t>(state.range(2));
    nnfuse::generated::fashion_mnist::Net net(batch + 1);
    net.set_threads(threads);
    nnfuse::initialize_variables(net, 42);
    std::unique_ptr<nnfuse::optimizer> optimizer;
    if (adam) {
        optimizer = std::make_unique<nnfuse::adam>();
    } else {
        optimizer = std::make_unique<nnfuse::sgd>();
    }
    nnfuse::trainer trainer(net, *optimizer);
    nnfuse::fit_options options;
    options.epochs = 1;
    options.batch_size = batch;
    for (auto _ : state) {
        const auto history = trainer.fit(data().train, options);
        benchmark::DoNotOptimize(history.epochs());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * data().train.count));
    state.SetLabel(fmt::format("{} {} thread{}", adam ? "adam" : "sgd", threads, threads == 1 ? "" : "s"));
}

void BM_evaluate(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    const auto threads = static_cast<std::size_t>(state.range(1));
    constexpr std::size_t training_batch = 256;
    nnfuse::generated::fashion_mnist::Net net(std::max(batch, training_batch + 1));
    nnfuse::initialize_variables(net, 42);
    nnfuse::sgd optimizer;
    nnfuse::trainer trainer(net, optimizer);
    nnfuse::fit_options options;
    options.epochs = 1;
    options.batch_size = training_batch;
    trainer.fit(data().train, options);
    net.set_threads(threads);
    for (auto _ : state) {
        const auto result = trainer.evaluate(data().test, batch);
        benchmark::DoNotOptimize(result.loss);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * data().test.count));
    state.SetLabel(fmt::format("{} thread{}", threads, threads == 1 ? "" : "s"));
}

}  // namespace

BENCHMARK(BM_evaluate)
    ->ArgsProduct({{32, 256, 1024}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

BENCHMARK(BM_train_epoch)
    ->ArgsProduct({{32, 256, 1024}, {0, 1}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

BENCHMARK_MAIN();
