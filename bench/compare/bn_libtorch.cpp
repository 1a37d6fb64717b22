// bench/compare/bn_libtorch: libtorch 1.13's CPU batch normalization rows (see bn_compare.hpp).
// Forward: at::batch_norm(training=true, momentum 0.01 = Keras' 0.99, eps 1e-3), as torch.nn.BatchNorm1d calls
// it. Backward: at::native_batch_norm_backward with the forward's saved mean and 1/std, which is what autograd
// runs for it. libtorch allocates its outputs at every call: so that the rows time the kernel and not fresh
// pages, glibc is told (mallopt, once) to serve every allocation from its heap and keep what is freed;
// without that, outputs above glibc's 32 MB mmap limit would be page-faulted in at every call.
#include "bench/compare/bn_compare.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <array>
#include <tuple>

#include "bench/roofline.hpp"

namespace nnfuse::bench {

namespace {

constexpr double keras_epsilon = 1e-3;
constexpr double torch_momentum = 0.01;  // Keras momentum 0.99

void keep_freed_memory() {
    static const bool done = [] {
        mallopt(M_MMAP_MAX, 0);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
        mallopt(M_TOP_PAD, 64 << 20);
        return true;
    }();
    (void)done;
}

struct torch_inputs {
    at::Tensor x, dy, gamma, beta, running_mean, running_var;

    torch_inputs(std::size_t rows, std::size_t features) {
        const auto n = static_cast<std::int64_t>(rows), c = static_cast<std::int64_t>(features);
        at::manual_seed(42);
        x = at::randn({n, c}) * 2.0 + 3.0;
        dy = at::randn({n, c});
        gamma = at::full({c}, 1.25f);
        beta = at::full({c}, 0.5f);
        running_mean = at::zeros({c});
        running_var = at::ones({c});
    }
};

void bm_libtorch_bn(benchmark::State& state, bn_pass pass, std::size_t features, std::size_t rows,
                    std::int64_t bytes_per_element, int threads) {
    keep_freed_memory();
    const auto bytes = static_cast<std::int64_t>(rows * features) * bytes_per_element;
    at::set_num_threads(threads);
    torch_inputs t(rows, features);
    if (pass == bn_pass::forward_train) {
        const roofline_row row(bytes);
        for (auto _ : state) {
            at::Tensor y = at::batch_norm(t.x, t.gamma, t.beta, t.running_mean, t.running_var, true, torch_momentum,
                                          keras_epsilon, false);
            benchmark::DoNotOptimize(y.data_ptr());
            benchmark::ClobberMemory();
        }
        row.finish(state);
    } else {
        const auto [y, save_mean, save_invstd] = at::native_batch_norm(
            t.x, t.gamma, t.beta, t.running_mean, t.running_var, true, torch_momentum, keras_epsilon);
        const roofline_row row(bytes);
        for (auto _ : state) {
            const auto grads =
                at::native_batch_norm_backward(t.dy, t.x, t.gamma, t.running_mean, t.running_var, save_mean,
                                               save_invstd, true, keras_epsilon, std::array<bool, 3>{true, true, true});
            benchmark::DoNotOptimize(std::get<0>(grads).data_ptr());
            benchmark::ClobberMemory();
        }
        row.finish(state);
    }
    state.SetLabel(threads == 1 ? "libtorch" : "libtorch, " + std::to_string(threads) + " threads");
}

}  // namespace

void register_libtorch_bn(const std::string& name, bn_pass pass, std::size_t features, std::size_t rows,
                          std::int64_t bytes_per_element, int threads) {
    const std::string row = compare_row_name(name, "libtorch", features, rows, threads);
    auto* registered =
        benchmark::RegisterBenchmark(
            row.c_str(),
            [=](benchmark::State& state) { bm_libtorch_bn(state, pass, features, rows, bytes_per_element, threads); })
            ->Unit(benchmark::kMicrosecond)
            ->ComputeStatistics("min", fastest_time);
    if (threads != 1) registered->UseRealTime();
}

}  // namespace nnfuse::bench
