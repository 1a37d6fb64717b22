// Google Benchmark: batch normalization over the channels of a feature map, one training step of one layer as the
// generated convolutional Nets run it (runtime/kernels/bn_chunk_training-inl.h, dispatched to the best SIMD target of
// this CPU), with gamma and beta and no activation, on one thread.
//
// Names: BM_bn_map_fwd_train/C/N and BM_bn_map_bwd/C/N, C channels and N = batch x height x width value rows (NHWC:
// the channels innermost). The shapes are fashion_mnist_cnn's two BN widths at batch 64: 28x28x32 and 14x14x64.
//   forward:  each chunk's moments (BnChunkMoments), one merge in chunk order, each chunk normalized.
//   backward: each chunk's gradient sums, one merge (dgamma, dbeta and the dx coefficients), each chunk's dx.
// A chunk is samples_per_chunk samples (its H*W rows each), as the Nets cut a convolutional batch.
// With meson -Dcompare=true also BM_bn_map_fwd_train_onednn/C/N and BM_bn_map_bwd_onednn/C/N: oneDNN's batch
// normalization primitives on the same [N, C] data (bench/compare/bn_onednn.cpp; for NHWC data a per-channel BN over
// N*H*W rows is the same computation).
// Bytes and roofline as in bench/bn_kernels: x and y for the forward, x, dy and dx for the backward, 4 bytes each per
// element; of_copy is the row's bandwidth over memcpy's at the same working set (bench/roofline.hpp).
// Run: build-dir/bench/bn_map_kernels [--benchmark_repetitions=3]

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/bn_map_kernels.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "runtime/kernels/bn_chunk_training-inl.h"
#include "runtime/kernels/bn_chunked-inl.h"
#include "runtime/kernels/bn_chunked.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::bench::HWY_NAMESPACE {

namespace kernels = nnfuse::kernels::HWY_NAMESPACE;
constexpr activation_kind kLinear = activation_kind::linear;

// One BN layer's training passes over a batch of `rows` value rows cut into chunks of `chunk_rows`; `records` holds a
// chunk's bn_chunk_moments_floats(C) floats for every chunk (64-byte aligned), `coefficients` 2 * C floats.
template <std::size_t C>
struct MapLayer {
    static void ForwardTrain(const float* x, std::size_t rows, std::size_t chunk_rows, float epsilon,
                             const float* gamma, const float* beta, float* records, float* mean, float* var,
                             float* inv_std, float* y) {
        const std::size_t record = record_floats();
        for (std::size_t begin = 0, k = 0; begin < rows; begin += chunk_rows, ++k) {
            kernels::BnChunkMoments<C>(x + begin * C, std::min(chunk_rows, rows - begin), records + k * record);
        }
        kernels::BnMergeChunkMoments<C>(records, rows, chunk_rows, epsilon, mean, var, inv_std);
        for (std::size_t begin = 0; begin < rows; begin += chunk_rows) {
            kernels::BnNormalizeChunk<C, kLinear, /*Scale=*/true, /*Center=*/true>(
                x + begin * C, std::min(chunk_rows, rows - begin), mean, inv_std, gamma, beta, y + begin * C);
        }
    }
    static void Backward(const float* x, const float* dy, std::size_t rows, std::size_t chunk_rows, const float* gamma,
                         const float* mean, const float* inv_std, float* records, float* dgamma, float* dbeta,
                         float* coefficients, float* dx) {
        const std::size_t record = record_floats();
        std::size_t chunks = 0;
        for (std::size_t begin = 0; begin < rows; begin += chunk_rows, ++chunks) {
            kernels::BnChunkGradientSums<C, kLinear>(x + begin * C, /*y=*/nullptr, dy + begin * C,
                                                     std::min(chunk_rows, rows - begin), mean,
                                                     records + chunks * record);
        }
        kernels::BnMergeChunkGradients<C, /*Scale=*/true, /*Center=*/true>(records, chunks, rows, gamma, inv_std,
                                                                           dgamma, dbeta, coefficients);
        for (std::size_t begin = 0; begin < rows; begin += chunk_rows) {
            kernels::BnChunkInputGradient<C, kLinear, /*Scale=*/true>(x + begin * C, /*y=*/nullptr, dy + begin * C,
                                                                      std::min(chunk_rows, rows - begin), gamma, mean,
                                                                      inv_std, coefficients, dx + begin * C);
        }
    }
    static constexpr std::size_t record_floats() { return nnfuse::kernels::bn_chunk_moments_floats(C); }
};

// The exported entry points pick the channel count at run time.
template <class Call>
void WithChannels(std::size_t channels, const Call& call) {
    switch (channels) {
        case 32:
            return call(MapLayer<32>());
        case 64:
            return call(MapLayer<64>());
        default:
            HWY_ABORT("bench/bn_map_kernels: no instantiation for %zu channels", channels);
    }
}

void MapForwardTrain(std::size_t channels, const float* x, std::size_t rows, std::size_t chunk_rows, float epsilon,
                     const float* gamma, const float* beta, float* records, float* mean, float* var, float* inv_std,
                     float* y) {
    WithChannels(channels, [&](auto layer) HWY_ATTR {
        layer.ForwardTrain(x, rows, chunk_rows, epsilon, gamma, beta, records, mean, var, inv_std, y);
    });
}

void MapBackward(std::size_t channels, const float* x, const float* dy, std::size_t rows, std::size_t chunk_rows,
                 const float* gamma, const float* mean, const float* inv_std, float* records, float* dgamma,
                 float* dbeta, float* coefficients, float* dx) {
    WithChannels(channels, [&](auto layer) HWY_ATTR {
        layer.Backward(x, dy, rows, chunk_rows, gamma, mean, inv_std, records, dgamma, dbeta, coefficients, dx);
    });
}

std::int64_t MapCompiledTarget() { return HWY_TARGET; }

}  // namespace nnfuse::bench::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench/bn_bench_support.hpp"
#include "bench/compare/bn_compare.hpp"  // fastest_time; the oneDNN rows with -Dcompare=true
#include "bench/roofline.hpp"
#include "hwy/aligned_allocator.h"

namespace nnfuse::bench {

HWY_EXPORT(MapForwardTrain);
HWY_EXPORT(MapBackward);
HWY_EXPORT(MapCompiledTarget);

namespace {

constexpr float keras_epsilon = 1e-3f;
constexpr std::size_t batch = 64;                                       // fashion_mnist_cnn's default batch
constexpr std::size_t samples_per_chunk = 8;                            // how its Nets cut a convolutional batch
constexpr std::int64_t bytes_per_element_forward = 2 * sizeof(float);   // x in, y out
constexpr std::int64_t bytes_per_element_backward = 3 * sizeof(float);  // x, dy in, dx out

struct map_shape {
    std::size_t channels, height, width;
    std::size_t rows() const { return batch * height * width; }
    std::size_t chunk_rows() const { return samples_per_chunk * height * width; }
};
constexpr map_shape shapes[] = {{.channels = 32, .height = 28, .width = 28},
                                {.channels = 64, .height = 14, .width = 14}};

// bn_buffers plus the per-chunk records and the dx coefficients, allocated outside the timed loop.
struct map_buffers : bn_buffers {
    std::size_t chunk_rows;
    hwy::AlignedFreeUniquePtr<float[]> records;
    std::vector<float> coefficients;
    explicit map_buffers(const map_shape& shape)
        : bn_buffers(shape.rows(), shape.channels),
          chunk_rows(shape.chunk_rows()),
          records(hwy::AllocateAligned<float>((shape.rows() / shape.chunk_rows() + 1) *
                                              nnfuse::kernels::bn_chunk_moments_floats(shape.channels))),
          coefficients(2 * shape.channels) {}
};

void bm_map_forward_train(benchmark::State& state, const map_shape& shape) {
    map_buffers b(shape);
    const roofline_row row(static_cast<std::int64_t>(b.elements()) * bytes_per_element_forward);
    for (auto _ : state) {
        HWY_DYNAMIC_DISPATCH(MapForwardTrain)
        (b.features, b.x.get(), b.rows, b.chunk_rows, keras_epsilon, b.gamma.data(), b.beta.data(), b.records.get(),
         b.mean.data(), b.var.data(), b.inv_std.data(), b.y.get());
        benchmark::DoNotOptimize(b.y.get());
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

void bm_map_backward(benchmark::State& state, const map_shape& shape) {
    map_buffers b(shape);
    HWY_DYNAMIC_DISPATCH(MapForwardTrain)
    (b.features, b.x.get(), b.rows, b.chunk_rows, keras_epsilon, b.gamma.data(), b.beta.data(), b.records.get(),
     b.mean.data(), b.var.data(), b.inv_std.data(), b.y.get());
    const roofline_row row(static_cast<std::int64_t>(b.elements()) * bytes_per_element_backward);
    for (auto _ : state) {
        HWY_DYNAMIC_DISPATCH(MapBackward)
        (b.features, b.x.get(), b.dy.get(), b.rows, b.chunk_rows, b.gamma.data(), b.mean.data(), b.inv_std.data(),
         b.records.get(), b.dgamma.data(), b.dbeta.data(), b.coefficients.data(), b.dx.get());
        benchmark::DoNotOptimize(b.dx.get());
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

void register_all() {
    const std::string target = hwy::TargetName(HWY_DYNAMIC_DISPATCH(MapCompiledTarget)());
    for (const map_shape& shape : shapes) {
        std::string suffix = "/";  // built by appends: g++ 12 warns falsely on "/" + std::to_string(...)
        suffix += std::to_string(shape.channels);
        suffix += '/';
        suffix += std::to_string(shape.rows());
        benchmark::RegisterBenchmark(("BM_bn_map_fwd_train" + suffix).c_str(),
                                     [=](benchmark::State& state) {
                                         state.SetLabel(target);
                                         bm_map_forward_train(state, shape);
                                     })
            ->Unit(benchmark::kMicrosecond)
            ->ComputeStatistics("min", fastest_time);
#if NNFUSE_BENCH_COMPARE
        register_onednn_bn("BM_bn_map_fwd_train", bn_pass::forward_train, shape.channels, shape.rows(),
                           bytes_per_element_forward, 1);
#endif
        benchmark::RegisterBenchmark(("BM_bn_map_bwd" + suffix).c_str(),
                                     [=](benchmark::State& state) {
                                         state.SetLabel(target);
                                         bm_map_backward(state, shape);
                                     })
            ->Unit(benchmark::kMicrosecond)
            ->ComputeStatistics("min", fastest_time);
#if NNFUSE_BENCH_COMPARE
        register_onednn_bn("BM_bn_map_bwd", bn_pass::backward, shape.channels, shape.rows(), bytes_per_element_backward,
                           1);
#endif
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
