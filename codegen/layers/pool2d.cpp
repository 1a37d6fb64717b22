// MaxPooling2D / AveragePooling2D over NHWC samples, chunk by chunk (runtime/kernels/pooling-inl.h). Max pooling's
// backward finds each window's first maximum again from its input and output rather than storing its position.
#include "codegen/layers/pool2d.hpp"

#include <fmt/core.h>

#include "codegen/layers/conv2d.hpp"  // window_declaration, window_suffix

namespace nnfuse::codegen::layers {

namespace {

bool is_max(const pool2d_parameters& layer) { return layer.kind == pool_kind::max; }

std::size_t forward_kernel(const pool2d_parameters& layer, const step& s, plan_builder& b) {
    const kernels::window_geometry& g = layer.window;
    return b.add_kernel(
        {fmt::format("{}_fwd_f32_{}", is_max(layer) ? "max_pool2d" : "average_pool2d", window_suffix(g)),
         is_max(layer) ? &signatures::max_pool2d_forward : &signatures::average_pool2d_forward,
         {{window_name}},
         fmt::format("x [N, {}, {}, {}] -> y [N, {}, {}, {}]", g.height, g.width, g.channels, g.out_height(),
                     g.out_width(), g.channels),
         covers_of(s),
         s.why,
         window_declaration(g)});
}

call forward_call(const pool2d_parameters& layer, const step& s, plan_builder& b) {
    return b.kernel_call(forward_kernel(layer, s, b), {rows_of(b.buffer(s.in), s.layer->in_size), row_count(),
                                                       rows_of(b.buffer(s.out), s.layer->out_size)});
}

}  // namespace

bool makes_step(const pool2d_parameters&) { return true; }
std::optional<activation_kind> element_wise_activation(const pool2d_parameters&) { return std::nullopt; }
bool absorbs_activation(const pool2d_parameters&) { return false; }
bool passes_gradient_back(const pool2d_parameters&) { return true; }
void init_step(const pool2d_parameters& layer, step& s) {
    s.why = is_max(layer) ? "the maximum of each window, per channel" : "the mean of each window, per channel";
}

void plan_training(const pool2d_parameters& layer, const step& s, plan_builder& b) {
    const std::string& name = s.layer->name;
    const std::size_t in = s.layer->in_size, out = s.layer->out_size;
    b.forward({.id = name + ".forward",
               .when = phase::per_chunk,
               .comment = covers_of(s) + ": " + s.why,
               .action = forward_call(layer, s, b)});
    if (!s.needs_input_grad) return;
    const kernels::window_geometry& g = layer.window;
    const std::size_t bwd = b.add_kernel(
        {fmt::format("{}_bwd_f32_{}", is_max(layer) ? "max_pool2d" : "average_pool2d", window_suffix(g)),
         is_max(layer) ? &signatures::max_pool2d_backward : &signatures::average_pool2d_backward,
         {{window_name}},
         fmt::format("dy [N, {}, {}, {}] -> dx", g.out_height(), g.out_width(), g.channels),
         covers_of(s),
         is_max(layer) ? "each window's gradient to its first maximum" : "each window's gradient spread evenly",
         window_declaration(g)});
    std::vector<argument> arguments;
    if (is_max(layer)) arguments = {rows_of(b.buffer(s.in), in), rows_of(b.buffer(s.out), out)};
    arguments.push_back(rows_of(b.gradient(s.out), out));
    arguments.push_back(row_count());
    arguments.push_back(rows_of(b.gradient(s.in), in));
    b.backward({{.id = name + ".backward",
                 .when = phase::per_chunk,
                 .comment = covers_of(s),
                 .action = b.kernel_call(bwd, std::move(arguments))}});
}

void plan_inference(const pool2d_parameters& layer, const step& s, plan_builder& b) {
    b.infer({.id = s.layer->name + ".infer",
             .when = phase::per_chunk,
             .comment = covers_of(s),
             .action = forward_call(layer, s, b)});
}

std::string hyper_parameters(const pool2d_parameters& layer) {
    const kernels::window_geometry& g = layer.window;
    return fmt::format(" pool_size=({}, {}) strides=({}, {}) padding={}", g.window_h, g.window_w, g.stride_h,
                       g.stride_w, g.same_padding ? "same" : "valid");
}

}  // namespace nnfuse::codegen::layers
