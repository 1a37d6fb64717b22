// bench/compare/cnn_epoch_libtorch: seconds per training epoch of the convolutional sample model in libtorch 1.13,
// linked into bench/cnn_epoch (meson -Dcompare=true) so that one run prints nnfuse's BM_cnn_epoch rows and these
// side by side.
//
// Rows: BM_libtorch_cnn_epoch/<samples>/<batch>/<threads (torch::set_num_threads)>, as BM_cnn_epoch's: <samples> the
// first rows of the training set an epoch visits (60000: all; 6400: the quick rows).
// The model, as a PyTorch user writes it, in PyTorch's NCHW layout (images [N, 1, 28, 28]; nnfuse's generated code
// is NHWC, Keras's): [Conv2d(3x3, padding 1, bias=False) -> BatchNorm2d(eps 1e-3, momentum 0.01: Keras's settings)
// -> ReLU] x 2 -> MaxPool2d(2), with 32 then 64 filters, then flatten -> Linear(64 * 7 * 7, 10) (NCHW's flatten
// order, not NHWC's: the same work); loss log_softmax + nll (cross-entropy); Adam lr 1e-3. PyTorch's default
// initializers (kaiming uniform), not Keras's glorot: the work per epoch is the same. The real Fashion-MNIST training
// set loaded by nnfuse's loader, pixels / 255 as float, converted once outside the timing. An epoch: a fresh
// permutation, then per batch (the last one partial, PyTorch's drop_last=False): index_select of the batch, forward,
// loss, zero_grad, backward, optimizer step; the epoch's mean loss and accuracy are accumulated as tensors and read
// once at its end, as nnfuse's fit reports them. Times are real time per epoch (Iterations(1);
// --benchmark_repetitions=N gives the median of N); each row builds its own model (seed 42).
// The convolutions run in oneDNN (mkldnn) when this libtorch was built with it and ATen picks it for the shape,
// otherwise im2col + OpenBLAS GEMMs (slow_conv2d): the label says whether libtorch has mkldnn.
// Memory: every activation of a batch is a fresh tensor, and from batch 64 up most are large enough (batch 256:
// 25 MB for a 28x28x32 map) that glibc's malloc serves them with mmap and returns them with munmap, so each step
// page-faults its activations in again: measured on this model (6,400 samples, 1 thread), CPU time 12.5 s at batch
// 64 and 26.8 s at 256 by default, 7.8 s and 8.5 s with
//   GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824
// (jemalloc or tcmalloc, which PyTorch's CPU tuning guide recommends, do the same). The rows run with whatever the
// environment sets: state which when quoting them. nnfuse's Net allocates its buffers once.
// Threads: torch::set_num_threads sets ATen's (OpenMP) pool but not OpenBLAS's own pthread pool: both are set, as in
// bench/compare/train_epoch_libtorch.cpp. With 2 threads, libgomp's default active waiting makes an epoch many
// times slower whenever another process holds a core (see there; OMP_WAIT_POLICY=passive helps): compare thread
// counts on an idle machine only.
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
    torch::Tensor images;  // [count, 1, 28, 28] float in [0, 1] (NCHW)
    torch::Tensor labels;  // [count] int64
};

const torch_set& train_set() {
    static const torch_set set = [] {
        const nnfuse::fashion_mnist_data data = nnfuse::load_fashion_mnist();
        const auto count = static_cast<std::int64_t>(data.train.count);
        const auto height = static_cast<std::int64_t>(data.train.height);
        const auto width = static_cast<std::int64_t>(data.train.width);
        torch::Tensor raw = torch::empty({count, 1, height, width}, torch::kUInt8);
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

torch::nn::Conv2d conv3x3(std::int64_t in, std::int64_t out) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false));
}

torch::nn::BatchNorm2d keras_batch_norm(std::int64_t channels) {
    return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels).eps(1e-3).momentum(0.01));
}

struct cnn_model : torch::nn::Module {
    torch::nn::Conv2d conv2d{conv3x3(1, 32)}, conv2d_1{conv3x3(32, 32)}, conv2d_2{conv3x3(32, 64)},
        conv2d_3{conv3x3(64, 64)};
    torch::nn::BatchNorm2d bn{keras_batch_norm(32)}, bn_1{keras_batch_norm(32)}, bn_2{keras_batch_norm(64)},
        bn_3{keras_batch_norm(64)};
    torch::nn::Linear dense{64 * 7 * 7, 10};

    cnn_model() {
        register_module("conv2d", conv2d);
        register_module("batch_normalization", bn);
        register_module("conv2d_1", conv2d_1);
        register_module("batch_normalization_1", bn_1);
        register_module("conv2d_2", conv2d_2);
        register_module("batch_normalization_2", bn_2);
        register_module("conv2d_3", conv2d_3);
        register_module("batch_normalization_3", bn_3);
        register_module("dense", dense);
    }

    torch::Tensor forward(torch::Tensor x) {
        x = torch::relu(bn(conv2d(x)));
        x = torch::max_pool2d(torch::relu(bn_1(conv2d_1(x))), 2);
        x = torch::relu(bn_2(conv2d_2(x)));
        x = torch::max_pool2d(torch::relu(bn_3(conv2d_3(x))), 2);
        return dense(x.flatten(1));
    }
};

void BM_libtorch_cnn_epoch(benchmark::State& state) {
    const auto batch = static_cast<std::int64_t>(state.range(1));
    const auto threads = static_cast<int>(state.range(2));
    torch::set_num_threads(threads);
    set_blas_threads(threads);
    torch::manual_seed(42);
    const torch_set& data = train_set();
    const std::int64_t count = std::min(static_cast<std::int64_t>(state.range(0)), data.images.size(0));

    auto model = std::make_shared<cnn_model>();
    model->train();
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));

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
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            torch::NoGradGuard no_grad;
            loss_sum += loss.detach() * indices.size(0);
            correct += logits.argmax(1).eq(labels).sum();
        }
        last_accuracy = correct.item<double>() / static_cast<double>(count);
        benchmark::DoNotOptimize(loss_sum.item<float>());
    }
    state.SetItemsProcessed(state.iterations() * count);
    state.counters["accuracy"] = last_accuracy;
    state.SetLabel(std::string("adam, libtorch ") + std::to_string(threads) + " thread" + (threads == 1 ? "" : "s") +
                   (at::hasMKLDNN() ? ", mkldnn" : ", no mkldnn"));
}

}  // namespace

BENCHMARK(BM_libtorch_cnn_epoch)
    ->ArgsProduct({{6400, 60000}, {64, 256}, {1, 2}})
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->Iterations(1);
