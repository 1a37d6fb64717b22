// bench/compare/bn_onednn: oneDNN 2.6's batch normalization primitives (see bn_compare.hpp).
// The [N, C] batch is described as {N, C, 1, 1} with tag nhwc (channels innermost, the same bytes as nnfuse's
// row-major [N, C]): oneDNN's plain "nc" tag takes a slow generic path. Flags use_scale | use_shift (gamma,
// beta); forward_training computes and writes the batch mean and variance; backward (prop_kind::backward)
// computes diff_src, diff_scale and diff_shift. Primitives and memories are created outside the timed loop;
// oneDNN runs on OpenMP here, its thread count set with omp_set_num_threads.
#include "bench/compare/bn_compare.hpp"

#include <benchmark/benchmark.h>
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <string>
#include <unordered_map>

#include "bench/roofline.hpp"

namespace nnfuse::bench {

namespace {

constexpr float keras_epsilon = 1e-3f;

void fill(dnnl::memory& m, std::size_t count, float value) {
    auto* p = static_cast<float*>(m.get_data_handle());
    for (std::size_t i = 0; i < count; ++i) p[i] = value;
}

std::string label(const char* implementation, int threads) {
    std::string text = std::string("oneDNN ") + implementation;
    if (threads != 1) text += ", " + std::to_string(threads) + " threads";
    return text;
}

void bm_onednn_bn(benchmark::State& state, bn_pass pass, std::size_t features, std::size_t rows,
                  std::int64_t bytes_per_element, int threads) {
    using dnnl::memory;
    omp_set_num_threads(threads);
    const auto bytes = static_cast<std::int64_t>(rows * features) * bytes_per_element;
    const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    const auto n = static_cast<memory::dim>(rows), c = static_cast<memory::dim>(features);
    const memory::desc data_desc({n, c, 1, 1}, memory::data_type::f32, memory::format_tag::nhwc);
    const memory::desc channel_desc({c}, memory::data_type::f32, memory::format_tag::a);
    const auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    const dnnl::batch_normalization_forward::primitive_desc forward_pd(
        {dnnl::prop_kind::forward_training, data_desc, keras_epsilon, flags}, engine);

    memory x(data_desc, engine), y(data_desc, engine), dy(data_desc, engine), dx(data_desc, engine);
    memory gamma(channel_desc, engine), beta(channel_desc, engine), dgamma(channel_desc, engine),
        dbeta(channel_desc, engine);
    memory mean(forward_pd.mean_desc(), engine), variance(forward_pd.variance_desc(), engine);
    {
        std::mt19937 rng(42);
        std::normal_distribution<float> normal;
        auto* px = static_cast<float*>(x.get_data_handle());
        auto* pdy = static_cast<float*>(dy.get_data_handle());
        for (std::size_t i = 0; i < rows * features; ++i) {
            px[i] = 3.0f + 2.0f * normal(rng);
            pdy[i] = normal(rng);
        }
        fill(y, rows * features, 0.0f);
        fill(dx, rows * features, 0.0f);
        fill(gamma, features, 1.25f);
        fill(beta, features, 0.5f);
    }
    const dnnl::batch_normalization_forward forward(forward_pd);
    const std::unordered_map<int, memory> forward_args = {{DNNL_ARG_SRC, x},       {DNNL_ARG_DST, y},
                                                          {DNNL_ARG_SCALE, gamma}, {DNNL_ARG_SHIFT, beta},
                                                          {DNNL_ARG_MEAN, mean},   {DNNL_ARG_VARIANCE, variance}};
    forward.execute(stream, forward_args);
    stream.wait();
    if (pass == bn_pass::forward_train) {
        state.SetLabel(label(forward_pd.impl_info_str(), threads));
        const roofline_row row(bytes);
        for (auto _ : state) {
            forward.execute(stream, forward_args);
            stream.wait();
            benchmark::ClobberMemory();
        }
        row.finish(state);
    } else {
        const dnnl::batch_normalization_backward::primitive_desc backward_pd(
            {dnnl::prop_kind::backward, data_desc, data_desc, keras_epsilon, flags}, engine, forward_pd);
        const dnnl::batch_normalization_backward backward(backward_pd);
        const std::unordered_map<int, memory> backward_args = {
            {DNNL_ARG_SRC, x},       {DNNL_ARG_MEAN, mean},         {DNNL_ARG_VARIANCE, variance},
            {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_SCALE, gamma},       {DNNL_ARG_SHIFT, beta},
            {DNNL_ARG_DIFF_SRC, dx}, {DNNL_ARG_DIFF_SCALE, dgamma}, {DNNL_ARG_DIFF_SHIFT, dbeta}};
        state.SetLabel(label(backward_pd.impl_info_str(), threads));
        const roofline_row row(bytes);
        for (auto _ : state) {
            backward.execute(stream, backward_args);
            stream.wait();
            benchmark::ClobberMemory();
        }
        row.finish(state);
    }
}

}  // namespace

void register_onednn_bn(const std::string& name, bn_pass pass, std::size_t features, std::size_t rows,
                        std::int64_t bytes_per_element, int threads) {
    const std::string row = compare_row_name(name, "onednn", features, rows, threads);
    auto* registered =
        benchmark::RegisterBenchmark(
            row.c_str(),
            [=](benchmark::State& state) { bm_onednn_bn(state, pass, features, rows, bytes_per_element, threads); })
            ->Unit(benchmark::kMicrosecond)
            ->ComputeStatistics("min", fastest_time);
    if (threads != 1) registered->UseRealTime();
}

}  // namespace nnfuse::bench
