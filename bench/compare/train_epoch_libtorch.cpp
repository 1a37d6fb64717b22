// bench/compare/train_epoch_libtorch: seconds per training epoch of the reference model in libtorch 1.13,
// linked into bench/train_epoch (meson -Dcompare=true) so that one run prints nnfuse's BM_train_epoch rows
// and these side by side.
//
// Rows: BM_libtorch_epoch/<batch>/<optimizer: 0 sgd lr 0.01, 1 adam lr 1e-3>/<threads (torch::set_num_threads)>.
// The model: Flatten(28x28) -> BatchNorm1d(784, eps 1e-3, momentum 0.01: Keras' settings) -> Linear(784, 20)
// -> ELU -> Linear(20, 10), loss log_softmax + nll (cross-entropy), on the real Fashion-MNIST training set
// (60,000 samples) loaded by nnfuse's loader, pixels / 255 as float, converted once outside the timing.
// An epoch: a fresh permutation, then per batch (the last one partial, PyTorch's drop_last=False):
// index_select of the batch, forward, loss, zero_grad, backward, optimizer step; the epoch's mean loss and
// accuracy are accumulated as tensors and read once at its end, as nnfuse's fit reports them.
// Times are real time per epoch; --benchmark_repetitions=N gives the median of N. The weights keep training
// across iterations (as BM_train_epoch's): the accuracy counter is the training accuracy of the last epoch.
// Threads: torch::set_num_threads sets ATen's (OpenMP) pool but not OpenBLAS's own pthread pool, which runs
// libtorch's matrix products (Debian's libtorch with libopenblas0-pthread): both are set, else the 1-thread
// rows would run their GEMMs on every core. With 2 threads, libgomp's default active waiting makes an epoch
// many times slower whenever another process holds a core (measured: batch 256 SGD 25 s, and 0.9 s with
// OMP_WAIT_POLICY=passive, against 0.2 s on one thread): compare thread counts on an idle machine only.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "runtime/data/fashion_mnist.hpp"

namespace {

struct torch_set {
    torch::Tensor images;  // [count, 784] float in [0, 1]
    torch::Tensor labels;  // [count] int64
};

const torch_set& train_set() {
    static const torch_set set = [] {
        const nnfuse::fashion_mnist_data data = nnfuse::load_fashion_mnist();
        const auto count = static_cast<std::int64_t>(data.train.count);
        const auto pixels = static_cast<std::int64_t>(data.train.height * data.train.width);
        torch::Tensor raw = torch::empty({count, pixels}, torch::kUInt8);
        std::memcpy(raw.data_ptr<std::uint8_t>(), data.train.pixels.data(), data.train.pixels.size());
        torch::Tensor labels = torch::empty({count}, torch::kUInt8);
        std::memcpy(labels.data_ptr<std::uint8_t>(), data.train.labels.data(), data.train.labels.size());
        return torch_set{raw.to(torch::kFloat32).div_(255.0f), labels.to(torch::kInt64)};
    }();
    return set;
}

// OpenBLAS's thread count, when libtorch's BLAS is OpenBLAS (looked up at run time: no OpenBLAS headers).
void set_blas_threads(int threads) {
    using setter = void (*)(int);
    if (const auto set = reinterpret_cast<setter>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(threads);
}

struct reference_model : torch::nn::Module {
    torch::nn::BatchNorm1d bn{torch::nn::BatchNorm1dOptions(784).eps(1e-3).momentum(0.01)};
    torch::nn::Linear dense{784, 20};
    torch::nn::Linear dense_1{20, 10};

    reference_model() {
        register_module("batch_normalization", bn);
        register_module("dense", dense);
        register_module("dense_1", dense_1);
    }

    torch::Tensor forward(const torch::Tensor& images) { return dense_1(torch::elu(dense(bn(images.flatten(1))))); }
};

void BM_libtorch_epoch(benchmark::State& state) {
    const auto batch = static_cast<std::int64_t>(state.range(0));
    const bool adam = state.range(1) == 1;
    const auto threads = static_cast<int>(state.range(2));
    torch::set_num_threads(threads);
    set_blas_threads(threads);
    torch::manual_seed(42);
    const torch_set& data = train_set();
    const std::int64_t count = data.images.size(0);

    auto model = std::make_shared<reference_model>();
    model->train();
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    if (adam) {
        optimizer = std::make_unique<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(1e-3));
    } else {
        optimizer = std::make_unique<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.01));
    }

    double last_accuracy = 0.0;
    for (auto _ : state) {
        const torch::Tensor order = torch::randperm(count, torch::kInt64);
        torch::Tensor loss_sum = torch::zeros({}), correct = torch::zeros({}, torch::kInt64);
        for (std::int64_t start = 0; start < count; start += batch) {
            const torch::Tensor indices = order.slice(0, start, std::min(start + batch, count));
            const torch::Tensor images = data.images.index_select(0, indices);
            const torch::Tensor labels = data.labels.index_select(0, indices);
            const torch::Tensor logits = model->forward(images);
            const torch::Tensor loss = torch::nll_loss(torch::log_softmax(logits, 1), labels);
            optimizer->zero_grad();
            loss.backward();
            optimizer->step();
            torch::NoGradGuard no_grad;
            loss_sum += loss.detach() * indices.size(0);
            correct += logits.argmax(1).eq(labels).sum();
        }
        last_accuracy = correct.item<double>() / static_cast<double>(count);
        benchmark::DoNotOptimize(loss_sum.item<float>());
    }
    state.SetItemsProcessed(state.iterations() * count);
    state.counters["accuracy"] = last_accuracy;
    state.SetLabel(std::string(adam ? "adam" : "sgd") + ", libtorch " + std::to_string(threads) + " thread" +
                   (threads == 1 ? "" : "s"));
}

}  // namespace

BENCHMARK(BM_libtorch_epoch)
    ->ArgsProduct({{32, 256, 1024}, {0, 1}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);
