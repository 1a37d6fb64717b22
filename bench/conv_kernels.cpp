// Google Benchmark: the Conv2D kernels (runtime/kernels/conv2d-inl.h, dispatched to the best SIMD target of this
// CPU) at the typical shapes of a small image model, 3x3 windows, stride 1, same padding, relu, with bias, batch 64.
//
// Names: BM_conv_fwd/<shape>/N (Conv2dForward: the direct product, as inference runs it),
// BM_conv_fwd_training/<shape>/N (Conv2dForwardKernel, then Conv2dForwardWithMoments, as the training runs a conv that
// a BN follows: Winograd's F(2x2, 3x3) where forward_is_winograd), BM_conv_bwd_dkernel/<shape>/N (Conv2dBackward with
// dx = nullptr: Act', the bias sums and the kernel-gradient product, Winograd's F(3x3, 2x2) where forward_is_winograd),
// BM_conv_bwd_dx/<shape>/N (the input-gradient
// product alone, conv_detail::InputGradients, as Conv2dBackward calls it: on these shapes the forward of dz with the
// flipped kernel, Winograd's where its geometry allows, and Conv2dFlipKernel, which the generated training runs once
// per step), N rows; <shape> = HxWxC_F. Flops: 2 * N * out_h * out_w * window_h * window_w * C * F per row, the product
// over whole windows (the padding taps at the borders are counted, as conventional GFLOP/s figures do; the activation,
// Act' and bias sums are not). Winograd's rows do fewer multiply-adds for the same outputs, so their rate (and of_peak)
// can exceed the peak. of_peak: that rate over the core's multiply-add peak measured in this program
// (bench/fma_peak.hpp). With meson -Dcompare=true, oneDNN's convolution primitives at the same shapes: BM_conv_*_onednn
// rows (bench/compare/conv_onednn.hpp). Run: build-dir/bench/conv_kernels [--benchmark_repetitions=5]

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/conv_kernels.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "runtime/kernels/bn_chunked.hpp"
#include "runtime/kernels/conv2d-inl.h"
#include "runtime/kernels/conv2d_bn_moments-inl.h"

// Outside the per-target code: defined once, not once per target.
#ifndef NNFUSE_BENCH_CONV_KERNELS_SHAPES_
#define NNFUSE_BENCH_CONV_KERNELS_SHAPES_
namespace nnfuse::bench {
using kernels::window_geometry;
// The four typical layers: {height, width, channels, window_h, window_w, stride_h, stride_w, same_padding}, filters.
inline constexpr window_geometry kShape0{28, 28, 1, 3, 3, 1, 1, true};
inline constexpr window_geometry kShape1{28, 28, 32, 3, 3, 1, 1, true};
inline constexpr window_geometry kShape2{14, 14, 32, 3, 3, 1, 1, true};
inline constexpr window_geometry kShape3{14, 14, 64, 3, 3, 1, 1, true};
inline constexpr std::size_t kFilters[] = {32, 32, 64, 64};
inline constexpr window_geometry kShapes[] = {kShape0, kShape1, kShape2, kShape3};
// The kernels of one target, per shape.
using ForwardFn = void (*)(const float*, std::size_t, const float*, const float*, float*);
using KernelGradientFn = void (*)(const float*, const float*, float*, std::size_t, float*, float*);
using InputGradientFn = void (*)(const float*, std::size_t, const float*, float*);
struct ConvBenchKernels {
    std::int64_t target;
    ForwardFn forward[4];
    KernelGradientFn kernel_gradient[4];
    InputGradientFn input_gradient[4];
    ForwardFn training_forward[4];
};
}  // namespace nnfuse::bench
#endif  // NNFUSE_BENCH_CONV_KERNELS_SHAPES_

HWY_BEFORE_NAMESPACE();
namespace nnfuse::bench::HWY_NAMESPACE {

namespace kernels = nnfuse::kernels::HWY_NAMESPACE;
namespace kernels_shared = nnfuse::kernels;  // the target-independent geometry and sizes
constexpr activation_kind kRelu = activation_kind::relu;

template <std::size_t kIndex>
void Forward(const float* x, std::size_t rows, const float* kernel, const float* bias, float* y) {
    kernels::Conv2dForward<kShapes[kIndex], kFilters[kIndex], kRelu, true>(x, rows, kernel, bias, y);
}
template <std::size_t kIndex>
void KernelGradient(const float* x, const float* y, float* dy, std::size_t rows, float* dkernel, float* dbias) {
    kernels::Conv2dBackward<kShapes[kIndex], kFilters[kIndex], kRelu, true>(x, y, dy, rows, nullptr, nullptr, dkernel,
                                                                            dbias, nullptr);
}
template <std::size_t kIndex>
void InputGradient(const float* dz, std::size_t rows, const float* kernel, float* dx) {
    constexpr auto kShape = kShapes[kIndex];
    HWY_ALIGN static float flipped[kernels_shared::flipped_kernel_floats(kShape, kFilters[kIndex])];
    kernels::Conv2dFlipKernel<kShape, kFilters[kIndex]>(kernel, flipped);
    kernels::conv_detail::InputGradients<kShape, kFilters[kIndex]>(dz, rows, kernel, flipped, dx);
}

// The training forward of a conv that a BN follows, as the generated training runs it once per step and chunk: the
// forward kernel formed (Conv2dForwardKernel: Winograd's transform where forward_is_winograd), then the forward that
// takes the BN's statistics of its output (one chunk of `rows`).
template <std::size_t kIndex>
void TrainingForward(const float* x, std::size_t rows, const float* kernel, const float* bias, float* y) {
    constexpr auto kShape = kShapes[kIndex];
    constexpr std::size_t kF = kFilters[kIndex];
    HWY_ALIGN static float forward_kernel[kernels_shared::forward_kernel_floats(kShape, kF)];
    HWY_ALIGN static float moments[kernels_shared::bn_chunk_moments_floats(kF)];
    kernels::Conv2dForwardKernel<kShape, kF>(kernel, forward_kernel);
    kernels::Conv2dForwardWithMoments<kShape, kF, activation_kind::linear, true>(x, rows, forward_kernel, bias, y,
                                                                                 moments);
}

ConvBenchKernels Kernels() {
    return {HWY_TARGET,
            {&Forward<0>, &Forward<1>, &Forward<2>, &Forward<3>},
            {&KernelGradient<0>, &KernelGradient<1>, &KernelGradient<2>, &KernelGradient<3>},
            {&InputGradient<0>, &InputGradient<1>, &InputGradient<2>, &InputGradient<3>},
            {&TrainingForward<0>, &TrainingForward<1>, &TrainingForward<2>, &TrainingForward<3>}};
}

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
#ifdef NNFUSE_BENCH_COMPARE
#include "bench/compare/conv_onednn.hpp"
#endif

namespace nnfuse::bench {

HWY_EXPORT(Kernels);

namespace {

constexpr std::size_t kBatch = 64;

// One layer's tensors, allocated and first touched outside the timed loop.
struct conv_buffers {
    std::size_t rows, in, out, weights, filters;
    hwy::AlignedFreeUniquePtr<float[]> x, y, dy, dx, kernel, dkernel;
    std::vector<float> bias, dbias;
    std::int64_t flops;

    conv_buffers(std::size_t shape, std::size_t n)
        : rows(n),
          in(kShapes[shape].input_size()),
          out(kShapes[shape].out_height() * kShapes[shape].out_width() * kFilters[shape]),
          weights(kShapes[shape].window_h * kShapes[shape].window_w * kShapes[shape].channels * kFilters[shape]),
          filters(kFilters[shape]),
          x(hwy::AllocateAligned<float>(n * in)),
          y(hwy::AllocateAligned<float>(n * out)),
          dy(hwy::AllocateAligned<float>(n * out)),
          dx(hwy::AllocateAligned<float>(n * in)),
          kernel(hwy::AllocateAligned<float>(weights)),
          dkernel(hwy::AllocateAligned<float>(weights)),
          bias(filters, 0.1f),
          dbias(filters),
          flops(static_cast<std::int64_t>(2 * n * out * (weights / filters))) {
        std::mt19937 rng(42);
        std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
        for (std::size_t i = 0; i < n * in; ++i) x[i] = uniform(rng), dx[i] = 0.0f;
        for (std::size_t i = 0; i < weights; ++i) kernel[i] = 0.1f * uniform(rng), dkernel[i] = 0.0f;
        // y > 0: relu' = 1 there, so dy *= relu'(y) leaves dy unchanged from one iteration to the next.
        for (std::size_t i = 0; i < n * out; ++i) y[i] = 0.5f, dy[i] = uniform(rng);
    }
};

void bm_forward(benchmark::State& state, std::size_t shape) {
    conv_buffers b(shape, kBatch);
    const auto run = HWY_DYNAMIC_DISPATCH(Kernels)().forward[shape];
    const flops_row row(b.flops);
    for (auto _ : state) {
        run(b.x.get(), b.rows, b.kernel.get(), b.bias.data(), b.y.get());
        benchmark::DoNotOptimize(b.y.get());
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

void bm_training_forward(benchmark::State& state, std::size_t shape) {
    conv_buffers b(shape, kBatch);
    const auto run = HWY_DYNAMIC_DISPATCH(Kernels)().training_forward[shape];
    const flops_row row(b.flops);
    for (auto _ : state) {
        run(b.x.get(), b.rows, b.kernel.get(), b.bias.data(), b.y.get());
        benchmark::DoNotOptimize(b.y.get());
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

void bm_kernel_gradient(benchmark::State& state, std::size_t shape) {
    conv_buffers b(shape, kBatch);
    const auto run = HWY_DYNAMIC_DISPATCH(Kernels)().kernel_gradient[shape];
    const flops_row row(b.flops);
    for (auto _ : state) {
        run(b.x.get(), b.y.get(), b.dy.get(), b.rows, b.dkernel.get(), b.dbias.data());
        benchmark::DoNotOptimize(b.dkernel.get());
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

void bm_input_gradient(benchmark::State& state, std::size_t shape) {
    conv_buffers b(shape, kBatch);
    const auto run = HWY_DYNAMIC_DISPATCH(Kernels)().input_gradient[shape];
    const flops_row row(b.flops);
    for (auto _ : state) {
        run(b.dy.get(), b.rows, b.kernel.get(), b.dx.get());
        benchmark::DoNotOptimize(b.dx.get());
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

// On a shared machine the fastest of --benchmark_repetitions runs is the least disturbed one.
double fastest(const std::vector<double>& times) { return *std::min_element(times.begin(), times.end()); }

// <shape>/N, e.g. 28x28x32_32/64; appended piecewise: g++ 12 warns falsely (-Wrestrict) on "/" + std::to_string(...).
std::string shape_name(std::size_t shape) {
    const window_geometry& g = kShapes[shape];
    std::string name = std::to_string(g.height);
    name += 'x';
    name += std::to_string(g.width);
    name += 'x';
    name += std::to_string(g.channels);
    name += '_';
    name += std::to_string(kFilters[shape]);
    name += '/';
    name += std::to_string(kBatch);
    return name;
}

void register_all() {
    const std::string target = hwy::TargetName(HWY_DYNAMIC_DISPATCH(Kernels)().target);
    const struct {
        const char* name;
        void (*run)(benchmark::State&, std::size_t);
    } kinds[] = {{"BM_conv_fwd", bm_forward},
                 {"BM_conv_bwd_dkernel", bm_kernel_gradient},
                 {"BM_conv_bwd_dx", bm_input_gradient},
                 {"BM_conv_fwd_training", bm_training_forward}};
    for (const auto& kind : kinds) {
        for (std::size_t shape = 0; shape < 4; ++shape) {
            std::string name = kind.name;
            name += '/';
            name += shape_name(shape);
            benchmark::RegisterBenchmark(name.c_str(),
                                         [=](benchmark::State& state) {
                                             state.SetLabel(target);
                                             kind.run(state, shape);
                                         })
                ->Unit(benchmark::kMicrosecond)
                ->ComputeStatistics("min", fastest);
        }
    }
#ifdef NNFUSE_BENCH_COMPARE
    for (std::size_t shape = 0; shape < 4; ++shape)
        register_onednn_conv(shape_name(shape), kShapes[shape], kFilters[shape], kBatch);
#endif
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
