// MaxPooling2D / AveragePooling2D over NHWC samples, chunk by chunk (runtime/kernels/pooling-inl.h). Max pooling's
// backward finds each window's first maximum again from its input and output rather than storing its position. In
// training a max pool may apply the BN before it as it reads (pooling_bn_input-inl.h; the plan pass
// bn_applied_by_next_layer decides, applied_by_next_max_pool says where it may).
#include "codegen/layers/pool2d.hpp"

#include <fmt/core.h>

#include "codegen/layers/conv2d.hpp"         // window_declaration, window_suffix
#include "codegen/layers/conv_bn_input.hpp"  // bn_input_suffix, bn_input_template_arguments, input_arguments

namespace nnfuse::codegen::layers {

namespace {

bool is_max(const pool2d_parameters& layer) { return layer.kind == pool_kind::max; }

std::string forward_shapes(const kernels::window_geometry& g) {
    return fmt::format("x [N, {}, {}, {}] -> y [N, {}, {}, {}]", g.height, g.width, g.channels, g.out_height(),
                       g.out_width(), g.channels);
}

std::size_t forward_kernel(const pool2d_parameters& layer, const step& s, plan_builder& b) {
    const kernels::window_geometry& g = layer.window;
    return b.add_kernel(
        {fmt::format("{}_fwd_f32_{}", is_max(layer) ? "max_pool2d" : "average_pool2d", window_suffix(g)),
         is_max(layer) ? &signatures::max_pool2d_forward : &signatures::average_pool2d_forward,
         {{window_name}},
         forward_shapes(g),
         covers_of(s),
         s.why,
         window_declaration(g)});
}

call forward_call(const pool2d_parameters& layer, const step& s, plan_builder& b) {
    return b.kernel_call(forward_kernel(layer, s, b), {rows_of(b.buffer(s.in), s.layer->in_size), row_count(),
                                                       rows_of(b.buffer(s.out), s.layer->out_size)});
}

// A max pool applying the BN before it (applies_bn_input_of): its kernel, named and described as the plain one with
// the BN's suffix, and its input, the BN's input followed by the BN's constants.
std::size_t bn_input_kernel(const std::string& name, const kernel_signature* signature, std::string shapes_text,
                            std::string why, const step& s, const step& bn, plan_builder& b) {
    const auto& layer = *s.layer->as<pool2d_parameters>();
    std::vector<template_argument> arguments{{window_name}};
    const auto more = bn_input_template_arguments(bn);
    arguments.insert(arguments.end(), more.begin(), more.end());
    return b.add_kernel({name + bn_input_suffix(bn), signature, std::move(arguments), std::move(shapes_text),
                         covers_of(s),
                         fmt::format("{}; applies {} ({}) to each value it compares: {}'s output is never stored",
                                     std::move(why), bn.layer->name, covers_of(bn), bn.layer->name),
                         window_declaration(layer.window)});
}

// The training forward: forward_call, or the max pool that applies the BN before it.
call training_forward_call(const pool2d_parameters& layer, const step& s, plan_builder& b) {
    if (!s.applies_bn_input_of) return forward_call(layer, s, b);
    const step& bn = b.step_at(*s.applies_bn_input_of);
    std::vector<argument> arguments = input_arguments(s, b);
    arguments.push_back(row_count());
    arguments.push_back(rows_of(b.buffer(s.out), s.layer->out_size));
    return b.kernel_call(
        bn_input_kernel(fmt::format("max_pool2d_fwd_f32_{}", window_suffix(layer.window)),
                        &signatures::max_pool2d_forward_bn_input, forward_shapes(layer.window), s.why, s, bn, b),
        std::move(arguments));
}

}  // namespace

bool applied_by_next_max_pool(const step& bn, const step& pool) {
    const auto* norm = bn.layer->as<batch_norm_parameters>();
    const auto* layer = pool.layer->as<pool2d_parameters>();
    return norm != nullptr && layer != nullptr && is_max(*layer) && pool.in == bn.out && norm->trainable &&
           !bn.folded_into && bn.activation != activation_kind::softmax && norm->features == layer->window.channels &&
           norm->rows_per_sample * norm->features == pool.layer->in_size;
}

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
               .action = training_forward_call(layer, s, b)});
    if (!s.needs_input_grad) return;
    const kernels::window_geometry& g = layer.window;
    const std::string bwd_name =
        fmt::format("{}_bwd_f32_{}", is_max(layer) ? "max_pool2d" : "average_pool2d", window_suffix(g));
    const std::string bwd_shapes = fmt::format("dy [N, {}, {}, {}] -> dx", g.out_height(), g.out_width(), g.channels);
    const std::string bwd_why =
        is_max(layer) ? "each window's gradient to its first maximum" : "each window's gradient spread evenly";
    const std::size_t bwd =
        s.applies_bn_input_of
            ? bn_input_kernel(bwd_name, &signatures::max_pool2d_backward_bn_input, bwd_shapes, bwd_why, s,
                              b.step_at(*s.applies_bn_input_of), b)
            : b.add_kernel({bwd_name,
                            is_max(layer) ? &signatures::max_pool2d_backward : &signatures::average_pool2d_backward,
                            {{window_name}},
                            bwd_shapes,
                            covers_of(s),
                            bwd_why,
                            window_declaration(g)});
    std::vector<argument> arguments;
    if (is_max(layer)) {  // x (or the BN's input and constants) and y: the routing is found again from them
        arguments = input_arguments(s, b);
        arguments.push_back(rows_of(b.buffer(s.out), out));
    }
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
