// Google Benchmark: the batch-normalization building blocks (runtime/kernels/batch_norm-inl.h,
// dispatched to the best SIMD target of this CPU) against a plain scalar two-pass implementation
// (suffix _naive: row-major loops, per-feature double accumulators as PyTorch's CPU kernel keeps,
// compiled with the project's flags), for a linear BN with gamma and beta.
//
// Names: BM_bn_fwd_train/C/N, BM_bn_bwd/C/N, BM_bn_fwd_infer/C/N (and _naive), C features, N rows.
// Threads: BM_bn_fwd_train_chunks/C/N/T is the training forward as the generated Nets run it on T threads (1, 2): the
// batch cut into chunks of chunk_rows rows, each chunk's moments on any thread, one merge in chunk order, then
// each chunk's x-hat (runtime/kernels/bn_chunked-inl.h; gamma and beta are left to the next dense layer, which
// folds them into its kernel). The backward has no such row: the Nets take BN's gradients from the dense layer's
// epilogue, not from a BN pass. The chunked rows count the forward's bytes (x in, x-hat out); T > 1 rows time the wall
// clock.
// With meson -Dcompare=true also BM_bn_fwd_train_libtorch/C/N, BM_bn_fwd_train_onednn/C/N and the same for
// BM_bn_bwd, at C = 784 (bench/compare/bn_compare.hpp), registered right after the nnfuse rows they compare with,
// and the libraries' forward on 2 threads (.../C/N/2t) after the chunked rows.
//
// Bytes: each row counts the tensors a pass must touch at least once: x and y for the forwards, x, dy and
// dx for the backward (4 bytes each per element); per-feature arrays are not counted, nor any second pass
// over x, nor the read-for-ownership of the written tensor. bytes_per_second is that count over the time.
// Roofline: the same byte count is the row's working set. copy_GiBps is memcpy's bandwidth measured in this
// program when source and destination together span those bytes (half each, copied repeatedly, best of 5),
// counted as the bytes read plus the bytes written, so it sits in the same cache level or DRAM as the row;
// GiB = 2^30 bytes, the G of bytes_per_second. of_copy = the row's bytes per second (wall clock over its
// loop, as the copy is timed) / the copy's: 1.0 means the row moves its minimum bytes as fast as memcpy
// moves as many. Not a hard ceiling: above the last-level cache glibc's memcpy streams its stores (no
// read-for-ownership), which a kernel with ordinary stores does not, and a kernel that passes over x more
// than once (statistics, then y) reads more bytes than the row counts. See bench/roofline.hpp.
// With --benchmark_repetitions, Google Benchmark applies each statistic to every counter: the _min row has
// the fastest run's time but the smallest bytes_per_second and of_copy of the runs (the slowest run's);
// read those from the _median row.
// Run: build-dir/bench/bn_kernels [--benchmark_filter=784/256]

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/bn_kernels.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "runtime/kernels/batch_norm-inl.h"
#include "runtime/kernels/bn_chunked-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::bench::HWY_NAMESPACE {

namespace kernels = nnfuse::kernels::HWY_NAMESPACE;
constexpr activation_kind kLinear = activation_kind::linear;

// The kernels of one benchmarked width (a compile-time constant of theirs).
template <std::size_t C>
struct Layer {
    static void ForwardTrain(const float* x, std::size_t rows, float epsilon, const float* gamma, const float* beta,
                             float* mean, float* var, float* inv_std, float* y) {
        kernels::BnForwardTrain<C, kLinear, true, true>(x, rows, epsilon, gamma, beta, mean, var, inv_std, y);
    }
    static void ForwardInfer(const float* x, std::size_t rows, float epsilon, const float* gamma, const float* beta,
                             const float* moving_mean, const float* moving_var, float* y) {
        kernels::BnForwardInfer<C, kLinear, true, true>(x, rows, epsilon, gamma, beta, moving_mean, moving_var, y);
    }
    static void Backward(const float* x, const float* dy, std::size_t rows, const float* gamma, const float* mean,
                         const float* inv_std, float* dgamma, float* dbeta, float* dx, float* scratch) {
        kernels::BnBackward<C, kLinear, true, true>(x, nullptr, dy, rows, gamma, mean, inv_std, dgamma, dbeta, dx,
                                                    scratch);
    }
    static void ChunkMoments(const float* x, std::size_t rows, float* moments) {
        kernels::BnChunkMoments<C>(x, rows, moments);
    }
    static void MergeChunkMoments(const float* moments, std::size_t rows, std::size_t chunk_rows, float epsilon,
                                  float* mean, float* var, float* inv_std) {
        kernels::BnMergeChunkMoments<C>(moments, rows, chunk_rows, epsilon, mean, var, inv_std);
    }
    static void NormalizeRows(const float* x, std::size_t rows, const float* mean, const float* inv_std, float* xhat) {
        kernels::BnNormalizeRows<C>(x, rows, mean, inv_std, xhat);
    }
};

// The exported entry points pick the width at run time.
template <class Call>
void WithLayer(std::size_t features, const Call& call) {
    switch (features) {
        case 20:
            return call(Layer<20>());
        case 256:
            return call(Layer<256>());
        case 784:
            return call(Layer<784>());
        default:
            HWY_ABORT("bench/bn_kernels: no instantiation for %zu features", features);
    }
}

void ForwardTrain(std::size_t features, const float* x, std::size_t rows, float epsilon, const float* gamma,
                  const float* beta, float* mean, float* var, float* inv_std, float* y) {
    WithLayer(features,
              [&](auto layer) HWY_ATTR { layer.ForwardTrain(x, rows, epsilon, gamma, beta, mean, var, inv_std, y); });
}

void ForwardInfer(std::size_t features, const float* x, std::size_t rows, float epsilon, const float* gamma,
                  const float* beta, const float* moving_mean, const float* moving_var, float* y) {
    WithLayer(features, [&](auto layer) HWY_ATTR {
        layer.ForwardInfer(x, rows, epsilon, gamma, beta, moving_mean, moving_var, y);
    });
}

void Backward(std::size_t features, const float* x, const float* dy, std::size_t rows, const float* gamma,
              const float* mean, const float* inv_std, float* dgamma, float* dbeta, float* dx, float* scratch) {
    WithLayer(features, [&](auto layer) HWY_ATTR {
        layer.Backward(x, dy, rows, gamma, mean, inv_std, dgamma, dbeta, dx, scratch);
    });
}

void ChunkMoments(std::size_t features, const float* x, std::size_t rows, float* moments) {
    WithLayer(features, [&](auto layer) HWY_ATTR { layer.ChunkMoments(x, rows, moments); });
}

void MergeChunkMoments(std::size_t features, const float* moments, std::size_t rows, std::size_t chunk_rows,
                       float epsilon, float* mean, float* var, float* inv_std) {
    WithLayer(features, [&](auto layer) HWY_ATTR {
        layer.MergeChunkMoments(moments, rows, chunk_rows, epsilon, mean, var, inv_std);
    });
}

void NormalizeRows(std::size_t features, const float* x, std::size_t rows, const float* mean, const float* inv_std,
                   float* xhat) {
    WithLayer(features, [&](auto layer) HWY_ATTR { layer.NormalizeRows(x, rows, mean, inv_std, xhat); });
}

std::int64_t CompiledTarget() { return HWY_TARGET; }

}  // namespace nnfuse::bench::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "bench/bn_bench_support.hpp"
#include "bench/roofline.hpp"
#include "hwy/aligned_allocator.h"
#include "runtime/kernels/bn_chunked.hpp"
#include "runtime/parallel/chunk_runner.hpp"

#if NNFUSE_BENCH_COMPARE
#include "bench/compare/bn_compare.hpp"
#endif

namespace nnfuse::bench {

HWY_EXPORT(ForwardTrain);
HWY_EXPORT(ForwardInfer);
HWY_EXPORT(ChunkMoments);
HWY_EXPORT(MergeChunkMoments);
HWY_EXPORT(NormalizeRows);
HWY_EXPORT(Backward);
HWY_EXPORT(CompiledTarget);

namespace {

constexpr float keras_epsilon = 1e-3f;
constexpr std::size_t feature_counts[] = {20, 256, 784};
constexpr std::size_t batch_sizes[] = {32, 256, 4096, 65536};
#if NNFUSE_BENCH_COMPARE
constexpr std::size_t compare_features = 784;  // the reference model's BN: the rows libtorch and oneDNN get
#endif

constexpr std::int64_t bytes_per_element_forward = 2 * sizeof(float);   // x in, y out
constexpr std::int64_t bytes_per_element_backward = 3 * sizeof(float);  // x, dy in, dx out

roofline_row roofline(const bn_buffers& b, std::int64_t bytes_per_element) {
    return roofline_row(static_cast<std::int64_t>(b.elements()) * bytes_per_element);
}

void bm_forward_train(benchmark::State& state, std::size_t features, std::size_t rows) {
    bn_buffers b(rows, features);
    const roofline_row row = roofline(b, bytes_per_element_forward);
    for (auto _ : state) {
        HWY_DYNAMIC_DISPATCH(ForwardTrain)
        (features, b.x.get(), rows, keras_epsilon, b.gamma.data(), b.beta.data(), b.mean.data(), b.var.data(),
         b.inv_std.data(), b.y.get());
        benchmark::DoNotOptimize(b.y.get());
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

void bm_forward_train_naive(benchmark::State& state, std::size_t features, std::size_t rows) {
    bn_buffers b(rows, features);
    const roofline_row row = roofline(b, bytes_per_element_forward);
    for (auto _ : state) {
        naive_forward_train(b.x.get(), rows, features, keras_epsilon, b.gamma.data(), b.beta.data(), b.sums.data(),
                            b.mean.data(), b.var.data(), b.inv_std.data(), b.y.get());
        benchmark::DoNotOptimize(b.y.get());
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

void bm_forward_train_chunks(benchmark::State& state, std::size_t features, std::size_t rows, std::size_t threads) {
    bn_buffers b(rows, features);
    const std::size_t chunks = chunk_count(rows);
    const std::size_t moments_floats = kernels::bn_chunk_moments_floats(features);
    const auto moments = hwy::AllocateAligned<float>(chunks * moments_floats);
    chunk_runner runner(threads);
    const roofline_row row = roofline(b, bytes_per_element_forward);
    for (auto _ : state) {
        runner.run(chunks, [&](std::size_t chunk) {
            const std::size_t begin = chunk * chunk_rows;
            HWY_DYNAMIC_DISPATCH(ChunkMoments)
            (features, b.x.get() + begin * features, std::min(chunk_rows, rows - begin),
             moments.get() + chunk * moments_floats);
        });
        HWY_DYNAMIC_DISPATCH(MergeChunkMoments)
        (features, moments.get(), rows, chunk_rows, keras_epsilon, b.mean.data(), b.var.data(), b.inv_std.data());
        runner.run(chunks, [&](std::size_t chunk) {
            const std::size_t begin = chunk * chunk_rows;
            HWY_DYNAMIC_DISPATCH(NormalizeRows)
            (features, b.x.get() + begin * features, std::min(chunk_rows, rows - begin), b.mean.data(),
             b.inv_std.data(), b.y.get() + begin * features);
        });
        benchmark::DoNotOptimize(b.y.get());
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

void bm_forward_infer(benchmark::State& state, std::size_t features, std::size_t rows) {
    bn_buffers b(rows, features);
    const roofline_row row = roofline(b, bytes_per_element_forward);
    for (auto _ : state) {
        HWY_DYNAMIC_DISPATCH(ForwardInfer)
        (features, b.x.get(), rows, keras_epsilon, b.gamma.data(), b.beta.data(), b.moving_mean.data(),
         b.moving_var.data(), b.y.get());
        benchmark::DoNotOptimize(b.y.get());
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

void bm_forward_infer_naive(benchmark::State& state, std::size_t features, std::size_t rows) {
    bn_buffers b(rows, features);
    const roofline_row row = roofline(b, bytes_per_element_forward);
    for (auto _ : state) {
        naive_forward_infer(b.x.get(), rows, features, keras_epsilon, b.gamma.data(), b.beta.data(),
                            b.moving_mean.data(), b.moving_var.data(), b.mean.data(), b.var.data(), b.y.get());
        benchmark::DoNotOptimize(b.y.get());
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

void bm_backward(benchmark::State& state, std::size_t features, std::size_t rows) {
    bn_buffers b(rows, features);
    HWY_DYNAMIC_DISPATCH(ForwardTrain)
    (features, b.x.get(), rows, keras_epsilon, b.gamma.data(), b.beta.data(), b.mean.data(), b.var.data(),
     b.inv_std.data(), b.y.get());
    const roofline_row row = roofline(b, bytes_per_element_backward);
    for (auto _ : state) {
        HWY_DYNAMIC_DISPATCH(Backward)
        (features, b.x.get(), b.dy.get(), rows, b.gamma.data(), b.mean.data(), b.inv_std.data(), b.dgamma.data(),
         b.dbeta.data(), b.dx.get(), b.scratch.data());
        benchmark::DoNotOptimize(b.dx.get());
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

void bm_backward_naive(benchmark::State& state, std::size_t features, std::size_t rows) {
    bn_buffers b(rows, features);
    naive_forward_train(b.x.get(), rows, features, keras_epsilon, b.gamma.data(), b.beta.data(), b.sums.data(),
                        b.mean.data(), b.var.data(), b.inv_std.data(), b.y.get());
    const roofline_row row = roofline(b, bytes_per_element_backward);
    for (auto _ : state) {
        naive_backward(b.x.get(), b.dy.get(), rows, features, b.gamma.data(), b.mean.data(), b.inv_std.data(),
                       b.sums.data(), b.sums.data() + features, b.dgamma.data(), b.dbeta.data(), b.dx.get());
        benchmark::DoNotOptimize(b.dx.get());
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

using bench_fn = void (*)(benchmark::State&, std::size_t, std::size_t);

// On a shared machine the fastest of --benchmark_repetitions runs is the least disturbed one.
double fastest(const std::vector<double>& times) { return *std::min_element(times.begin(), times.end()); }

// "/C/N", appended piecewise: g++ 12 warns falsely (-Wrestrict) on "/" + std::to_string(...).
std::string shape_suffix(std::size_t features, std::size_t rows) {
    std::string suffix = "/";
    suffix += std::to_string(features);
    suffix += '/';
    suffix += std::to_string(rows);
    return suffix;
}

void register_all() {
    const std::string target = hwy::TargetName(HWY_DYNAMIC_DISPATCH(CompiledTarget)());
    const struct {
        const char* name;
        bench_fn simd;
        bench_fn naive;
        std::int64_t bytes_per_element;
    } kinds[] = {{"BM_bn_fwd_train", bm_forward_train, bm_forward_train_naive, bytes_per_element_forward},
                 {"BM_bn_bwd", bm_backward, bm_backward_naive, bytes_per_element_backward},
                 {"BM_bn_fwd_infer", bm_forward_infer, bm_forward_infer_naive, bytes_per_element_forward}};
    for (const auto& kind : kinds) {
        for (const std::size_t features : feature_counts) {
            for (const std::size_t rows : batch_sizes) {
                const std::string suffix = shape_suffix(features, rows);
                benchmark::RegisterBenchmark((kind.name + suffix).c_str(),
                                             [=](benchmark::State& state) {
                                                 state.SetLabel(target);
                                                 kind.simd(state, features, rows);
                                             })
                    ->Unit(benchmark::kMicrosecond)
                    ->ComputeStatistics("min", fastest);
                benchmark::RegisterBenchmark((std::string(kind.name) + "_naive" + suffix).c_str(),
                                             [=](benchmark::State& state) { kind.naive(state, features, rows); })
                    ->Unit(benchmark::kMicrosecond)
                    ->ComputeStatistics("min", fastest);
#if NNFUSE_BENCH_COMPARE
                if (features == compare_features && kind.simd != bm_forward_infer) {
                    const bn_pass pass = kind.simd == bm_forward_train ? bn_pass::forward_train : bn_pass::backward;
                    register_libtorch_bn(kind.name, pass, features, rows, kind.bytes_per_element, 1);
                    register_onednn_bn(kind.name, pass, features, rows, kind.bytes_per_element, 1);
                }
#endif
            }
        }
    }
    for (const std::size_t features : feature_counts) {
        for (const std::size_t rows : batch_sizes) {
            for (const std::size_t threads : {1, 2}) {
                std::string name = "BM_bn_fwd_train_chunks" + shape_suffix(features, rows);
                name += '/';
                name += std::to_string(threads);
                auto* bench = benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
                    state.SetLabel(target);
                    bm_forward_train_chunks(state, features, rows, threads);
                });
                bench->Unit(benchmark::kMicrosecond)->ComputeStatistics("min", fastest);
                if (threads > 1) bench->UseRealTime();
            }
#if NNFUSE_BENCH_COMPARE
            if (features == compare_features) {
                register_libtorch_bn("BM_bn_fwd_train", bn_pass::forward_train, features, rows,
                                     bytes_per_element_forward, 2);
                register_onednn_bn("BM_bn_fwd_train", bn_pass::forward_train, features, rows, bytes_per_element_forward,
                                   2);
            }
#endif
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
