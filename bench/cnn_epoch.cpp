// bench/cnn_epoch: seconds per training epoch of the convolutional sample model (samples/fashion_mnist_cnn/model.hpp:
// [Conv2D 3x3 -> BN -> ReLU] x 2 -> MaxPool 2x2, twice (32 then 64 filters), Flatten -> Dense(10)) on
// the real Fashion-MNIST (60,000 samples), through the generated Net and the trainer, as a user runs it (Adam,
// lr 1e-3, shuffled, Keras's BN settings: momentum 0.99, epsilon 1e-3).
//   build/bench/cnn_epoch --benchmark_filter=/6400/      (the quick rows: the first 6,400 samples, a few seconds each)
//   build/bench/cnn_epoch --benchmark_filter=/60000/64/  (whole epochs at batch 64, tens of seconds each)
// Rows: BM_cnn_epoch/<samples>/<batch>/<threads>: one fit epoch over the first <samples> training rows (60000: the
// whole set; 6400: a tenth, nnfuse::first_rows, for a quick run). The time is one epoch (Iterations(1): an epoch is
// long enough to time once; --benchmark_repetitions=N gives the median of N), items/s is samples per second, so the
// quick and the whole rows compare directly. The model's chunks are 8 rows (a convolutional sample is heavy:
// codegen/plan.hpp's chunk_rows), so a batch of 64 is eight chunks, which the threads share.
// The same data is reused across rows; each row builds and initializes its own Net (seed 42).
// With -Dcompare=true, BM_libtorch_cnn_epoch rows of the same model in libtorch follow
// (bench/compare/cnn_epoch_libtorch.cpp). Where nnfuse's time goes: bench/conv_kernels times the Conv2D products
// alone at these shapes (batch 64); within an epoch, the generated kernels are named by their shapes, so a profile
// of one quick row splits the time per layer with no --profile build:
//   perf record -g build/bench/cnn_epoch --benchmark_filter=BM_cnn_epoch/6400/64/1 && perf report --no-children
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <fmt/format.h>

#include "fashion_mnist_cnn.gen.hpp"
#include "runtime/data/fashion_mnist.hpp"
#include "runtime/data/image_rows.hpp"
#include "runtime/data/row_range.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"

namespace {

const nnfuse::fashion_mnist_data& data() {
    static const nnfuse::fashion_mnist_data loaded = nnfuse::load_fashion_mnist();
    return loaded;
}

void BM_cnn_epoch(benchmark::State& state) {
    const auto samples = static_cast<std::size_t>(state.range(0));
    const auto batch = static_cast<std::size_t>(state.range(1));
    const auto threads = static_cast<std::size_t>(state.range(2));
    const nnfuse::image_rows all(data().train);
    const nnfuse::row_range train = nnfuse::first_rows(all, std::min(samples, all.rows()));
    nnfuse::generated::fashion_mnist_cnn::Net net(batch + 1);
    net.set_threads(threads);
    nnfuse::initialize_variables(net, 42);
    nnfuse::adam optimizer;  // lr 1e-3
    nnfuse::trainer trainer(net, optimizer);
    nnfuse::fit_options options;
    options.epochs = 1;
    options.batch_size = batch;
    double accuracy = 0.0;
    for (auto _ : state) {
        const auto history = trainer.fit(train, options);
        accuracy = history.value(0, "accuracy").value_or(0.0);
        benchmark::DoNotOptimize(accuracy);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * train.rows()));
    state.counters["accuracy"] = accuracy;
    state.SetLabel(fmt::format("adam, nnfuse {} thread{}", threads, threads == 1 ? "" : "s"));
}

}  // namespace

BENCHMARK(BM_cnn_epoch)
    ->ArgsProduct({{6400, 60000}, {64, 256}, {1, 2}})
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->Iterations(1);

BENCHMARK_MAIN();
