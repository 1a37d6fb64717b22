// Google Benchmark: the dense layer's matrix products (runtime/kernels/dense-inl.h, dispatched to the best SIMD
// target of this CPU) at the reference model's first layer, 784 inputs -> 20 units, elu, with bias, called as the
// generated code calls them.
//
// Names: BM_dense_fwd/In/Units/N (DenseForward: the kernel as stored, transposed per call where the forward runs
// along the inputs; inference), BM_dense_fwd_transposed/In/Units/N (DenseForwardTransposedKernel: the kernel^T that
// the BN fold writes once a step; the training forward of the reference model), BM_dense_bwd_dkernel/In/Units/N
// (DenseBackward with dx = nullptr, as for a first layer: the activation's derivative, the bias sums and the
// kernel-gradient product), N rows. Flops: 2 * N * In * Units per row, the product alone (the activation, its
// derivative and the bias sums are not counted, and are a few percent of the time at In = 784). GFLOPps and of_peak
// compare that rate with the core's multiply-add peak measured in this program (bench/fma_peak.hpp): of_peak = 1.0
// would be every FMA slot busy with useful lanes. Run: build-dir/bench/dense_kernels [--benchmark_repetitions=5]

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/dense_kernels.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "runtime/kernels/dense-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::bench::HWY_NAMESPACE {

namespace kernels = nnfuse::kernels::HWY_NAMESPACE;
constexpr activation_kind kElu = activation_kind::elu;

void Forward784x20(const float* x, std::size_t rows, const float* kernel, const float* bias, float* y) {
    kernels::DenseForward<784, 20, kElu, true>(x, rows, kernel, bias, y);
}

void ForwardTransposed784x20(const float* x, std::size_t rows, const float* kernel_t, const float* bias, float* y) {
    kernels::DenseForwardTransposedKernel<784, 20, kElu, true>(x, rows, kernel_t, bias, y);
}

void KernelGradient784x20(const float* x, const float* y, float* dy, std::size_t rows, float* dkernel, float* dbias) {
    kernels::DenseBackward<784, 20, kElu, true>(x, y, dy, rows, nullptr, dkernel, dbias, nullptr);
}

std::int64_t CompiledTarget() { return HWY_TARGET; }

}  // namespace nnfuse::bench::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "bench/fma_peak.hpp"
#include "hwy/aligned_allocator.h"

namespace nnfuse::bench {

HWY_EXPORT(Forward784x20);
HWY_EXPORT(ForwardTransposed784x20);
HWY_EXPORT(KernelGradient784x20);
HWY_EXPORT(CompiledTarget);

namespace {

constexpr std::size_t in = 784, units = 20;
constexpr std::size_t batch_sizes[] = {64, 256};

// One layer's tensors, allocated and first touched outside the timed loop.
struct dense_buffers {
    std::size_t rows;
    hwy::AlignedFreeUniquePtr<float[]> x, y, dy, kernel, kernel_t, dkernel;
    std::vector<float> bias, dbias;

    explicit dense_buffers(std::size_t n)
        : rows(n),
          x(hwy::AllocateAligned<float>(n * in)),
          y(hwy::AllocateAligned<float>(n * units)),
          dy(hwy::AllocateAligned<float>(n * units)),
          kernel(hwy::AllocateAligned<float>(in * units)),
          kernel_t(hwy::AllocateAligned<float>(in * units)),
          dkernel(hwy::AllocateAligned<float>(in * units)),
          bias(units, 0.1f),
          dbias(units) {
        std::mt19937 rng(42);
        std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
        for (std::size_t i = 0; i < n * in; ++i) x[i] = uniform(rng);
        for (std::size_t i = 0; i < in * units; ++i) {
            kernel[i] = 0.08f * uniform(rng);
            dkernel[i] = 0.0f;
        }
        for (std::size_t k = 0; k < in; ++k) {
            for (std::size_t u = 0; u < units; ++u) kernel_t[u * in + k] = kernel[k * units + u];
        }
        // y > 0: elu' = 1 there, so the backward's dy *= elu'(y) leaves dy unchanged from one iteration to the next
        // (it would otherwise shrink towards denormals); the work per call does not depend on the values.
        for (std::size_t i = 0; i < n * units; ++i) {
            y[i] = 0.5f;
            dy[i] = uniform(rng);
        }
    }
    std::int64_t flops() const { return static_cast<std::int64_t>(2 * rows * in * units); }
};

void bm_forward(benchmark::State& state, std::size_t rows) {
    dense_buffers b(rows);
    const flops_row row(b.flops());
    for (auto _ : state) {
        HWY_DYNAMIC_DISPATCH(Forward784x20)(b.x.get(), rows, b.kernel.get(), b.bias.data(), b.y.get());
        benchmark::DoNotOptimize(b.y.get());
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

void bm_forward_transposed(benchmark::State& state, std::size_t rows) {
    dense_buffers b(rows);
    const flops_row row(b.flops());
    for (auto _ : state) {
        HWY_DYNAMIC_DISPATCH(ForwardTransposed784x20)(b.x.get(), rows, b.kernel_t.get(), b.bias.data(), b.y.get());
        benchmark::DoNotOptimize(b.y.get());
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

void bm_kernel_gradient(benchmark::State& state, std::size_t rows) {
    dense_buffers b(rows);
    const flops_row row(b.flops());
    for (auto _ : state) {
        HWY_DYNAMIC_DISPATCH(KernelGradient784x20)
        (b.x.get(), b.y.get(), b.dy.get(), rows, b.dkernel.get(), b.dbias.data());
        benchmark::DoNotOptimize(b.dkernel.get());
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

// On a shared machine the fastest of --benchmark_repetitions runs is the least disturbed one.
double fastest(const std::vector<double>& times) { return *std::min_element(times.begin(), times.end()); }

void register_all() {
    const std::string target = hwy::TargetName(HWY_DYNAMIC_DISPATCH(CompiledTarget)());
    const struct {
        const char* name;
        void (*run)(benchmark::State&, std::size_t);
    } kinds[] = {{"BM_dense_fwd", bm_forward},
                 {"BM_dense_fwd_transposed", bm_forward_transposed},
                 {"BM_dense_bwd_dkernel", bm_kernel_gradient}};
    for (const auto& kind : kinds) {
        for (const std::size_t rows : batch_sizes) {
            // Appended piecewise: g++ 12 warns falsely (-Wrestrict) on "/" + std::to_string(...).
            std::string name = kind.name;
            name += '/';
            name += std::to_string(in);
            name += '/';
            name += std::to_string(units);
            name += '/';
            name += std::to_string(rows);
            benchmark::RegisterBenchmark(name.c_str(),
                                         [=](benchmark::State& state) {
                                             state.SetLabel(target);
                                             kind.run(state, rows);
                                         })
                ->Unit(benchmark::kMicrosecond)
                ->ComputeStatistics("min", fastest);
        }
    }
}

}  // namespace
}  // namespace nnfuse::bench

int main(int argc, char** argv) {
    nnfuse::bench::register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

#endif  // HWY_ONCE
