#include "bench/compare/conv_onednn.hpp"

#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <unordered_map>
#include <vector>

#include "bench/fma_peak.hpp"

namespace nnfuse::bench {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using kernels::window_geometry;

enum class conv_pass { forward, kernel_gradient, input_gradient };

// Same padding as TensorFlow's (window_geometry.hpp): half the total before, the rest after.
memory::dims padding_before(const window_geometry& g) {
    return {static_cast<memory::dim>(g.pad_top()), static_cast<memory::dim>(g.pad_left())};
}
memory::dims padding_after(const window_geometry& g) {
    const auto total = [](std::size_t out, std::size_t stride, std::size_t window, std::size_t in) {
        const std::size_t needed = (out - 1) * stride + window;
        return needed > in ? needed - in : 0;
    };
    return {static_cast<memory::dim>(total(g.out_height(), g.stride_h, g.window_h, g.height) - g.pad_top()),
            static_cast<memory::dim>(total(g.out_width(), g.stride_w, g.window_w, g.width) - g.pad_left())};
}

memory filled(const memory::desc& desc, const dnnl::engine& engine, std::mt19937& rng, float scale) {
    memory m(desc, engine);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    auto* p = static_cast<float*>(m.get_data_handle());
    for (std::size_t i = 0; i < desc.get_size() / sizeof(float); ++i) p[i] = scale * uniform(rng);
    return m;
}

void bm_onednn_conv(benchmark::State& state, conv_pass pass, window_geometry g, std::size_t filters, std::size_t rows) {
    omp_set_num_threads(1);
    const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    const auto n = static_cast<memory::dim>(rows), c = static_cast<memory::dim>(g.channels),
               f = static_cast<memory::dim>(filters);
    const memory::dims src_dims = {n, c, static_cast<memory::dim>(g.height), static_cast<memory::dim>(g.width)};
    const memory::dims dst_dims = {n, f, static_cast<memory::dim>(g.out_height()),
                                   static_cast<memory::dim>(g.out_width())};
    const memory::dims weight_dims = {f, c, static_cast<memory::dim>(g.window_h), static_cast<memory::dim>(g.window_w)};
    const memory::dims strides = {static_cast<memory::dim>(g.stride_h), static_cast<memory::dim>(g.stride_w)};
    const auto f32 = memory::data_type::f32;
    const memory::desc src_md(src_dims, f32, tag::nhwc), dst_md(dst_dims, f32, tag::nhwc);
    const memory::desc weights_any(weight_dims, f32, tag::any), bias_md({f}, f32, tag::a);

    dnnl::post_ops relu;
    relu.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attributes;
    attributes.set_post_ops(relu);
    const dnnl::convolution_forward::primitive_desc forward_pd(
        {dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src_md, weights_any, bias_md, dst_md,
         strides, padding_before(g), padding_after(g)},
        attributes, engine);

    std::mt19937 rng(42);
    memory x = filled(src_md, engine, rng, 1.0f), y(dst_md, engine), bias = filled(bias_md, engine, rng, 0.1f);
    memory dy = filled(dst_md, engine, rng, 1.0f), dx(src_md, engine), dbias(bias_md, engine);
    // The weights in oneDNN's preferred layout, reordered from plain oihw once.
    const memory plain = filled(memory::desc(weight_dims, f32, tag::oihw), engine, rng, 0.1f);
    memory weights(forward_pd.weights_desc(), engine);
    dnnl::reorder(plain, weights).execute(stream, const_cast<memory&>(plain), weights);
    stream.wait();

    const std::int64_t flops = static_cast<std::int64_t>(2 * rows * g.out_height() * g.out_width() * filters *
                                                         g.window_h * g.window_w * g.channels);
    dnnl::primitive primitive;
    std::unordered_map<int, memory> arguments;
    if (pass == conv_pass::forward) {
        primitive = dnnl::convolution_forward(forward_pd);
        arguments = {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, y}};
        state.SetLabel(std::string("oneDNN ") + forward_pd.impl_info_str());
    } else if (pass == conv_pass::kernel_gradient) {
        const dnnl::convolution_backward_weights::primitive_desc pd(
            {dnnl::algorithm::convolution_direct, src_md, weights_any, bias_md, dst_md, strides, padding_before(g),
             padding_after(g)},
            engine, forward_pd);
        memory dweights(pd.diff_weights_desc(), engine);
        primitive = dnnl::convolution_backward_weights(pd);
        arguments = {
            {DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, dweights}, {DNNL_ARG_DIFF_BIAS, dbias}};
        state.SetLabel(std::string("oneDNN ") + pd.impl_info_str());
    } else {
        const dnnl::convolution_backward_data::primitive_desc pd(
            {dnnl::algorithm::convolution_direct, src_md, weights_any, dst_md, strides, padding_before(g),
             padding_after(g)},
            engine, forward_pd);
        memory data_weights = weights;
        if (pd.weights_desc() != forward_pd.weights_desc()) {
            data_weights = memory(pd.weights_desc(), engine);
            dnnl::reorder(weights, data_weights).execute(stream, weights, data_weights);
        }
        primitive = dnnl::convolution_backward_data(pd);
        arguments = {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, data_weights}, {DNNL_ARG_DIFF_SRC, dx}};
        state.SetLabel(std::string("oneDNN ") + pd.impl_info_str());
    }
    primitive.execute(stream, arguments);  // first touch and oneDNN's lazy set-up, outside the timed loop
    stream.wait();
    const flops_row row(flops);
    for (auto _ : state) {
        primitive.execute(stream, arguments);
        stream.wait();
        benchmark::ClobberMemory();
    }
    row.finish(state);
}

double fastest(const std::vector<double>& times) { return *std::min_element(times.begin(), times.end()); }

}  // namespace

void register_onednn_conv(const std::string& name, const window_geometry& geometry, std::size_t filters,
                          std::size_t rows) {
    const struct {
        const char* prefix;
        conv_pass pass;
    } passes[] = {{"BM_conv_fwd_onednn/", conv_pass::forward},
                  {"BM_conv_bwd_dkernel_onednn/", conv_pass::kernel_gradient},
                  {"BM_conv_bwd_dx_onednn/", conv_pass::input_gradient}};
    for (const auto& p : passes) {
        std::string row = p.prefix;
        row += name;
        benchmark::RegisterBenchmark(
            row.c_str(), [=](benchmark::State& state) { bm_onednn_conv(state, p.pass, geometry, filters, rows); })
            ->Unit(benchmark::kMicrosecond)
            ->ComputeStatistics("min", fastest);
    }
}

}  // namespace nnfuse::bench
