// bench/train_epoch: seconds per training epoch of the reference model on the real Fashion-MNIST
// (60,000 samples), through the generated Net and the trainer, as a user runs it.
//   build/bench/train_epoch [--benchmark_repetitions=5]
// Rows: BM_train_epoch/<batch>/<optimizer: 0 sgd, 1 adam>; the time is one epoch, median of the runs.
// The same data and Net are reused across iterations; weights keep training, which does not change
// the work per epoch.
#include <benchmark/benchmark.h>

#include <memory>

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
    nnfuse::generated::fashion_mnist::Net net(batch + 1);
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
    state.SetLabel(adam ? "adam" : "sgd");
}

}  // namespace

BENCHMARK(BM_train_epoch)
    ->ArgsProduct({{32, 256}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

BENCHMARK_MAIN();
