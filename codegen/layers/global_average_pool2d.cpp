// GlobalAveragePooling2D over NHWC samples, chunk by chunk (runtime/kernels/pooling-inl.h): the mean of each channel
// over height and width; backward spreads each channel's gradient evenly.
#include "codegen/layers/global_average_pool2d.hpp"

#include <fmt/core.h>

namespace nnfuse::codegen::layers {

namespace {

std::vector<template_argument> template_arguments(const global_average_pool2d_parameters& layer) {
    return {{std::to_string(layer.height)}, {std::to_string(layer.width)}, {std::to_string(layer.channels)}};
}

std::string variant(const global_average_pool2d_parameters& layer) {
    return fmt::format("h{}w{}c{}", layer.height, layer.width, layer.channels);
}

call forward_call(const global_average_pool2d_parameters& layer, const step& s, plan_builder& b) {
    const std::size_t k = b.add_kernel(
        {"global_average_pool2d_fwd_f32_" + variant(layer), &signatures::global_average_pool2d_forward,
         template_arguments(layer),
         fmt::format("x [N, {}, {}, {}] -> y [N, {}]", layer.height, layer.width, layer.channels, layer.channels),
         covers_of(s), s.why});
    return b.kernel_call(
        k, {rows_of(b.buffer(s.in), s.layer->in_size), row_count(), rows_of(b.buffer(s.out), layer.channels)});
}

}  // namespace

bool makes_step(const global_average_pool2d_parameters&) { return true; }
std::optional<activation_kind> element_wise_activation(const global_average_pool2d_parameters&) { return std::nullopt; }
bool absorbs_activation(const global_average_pool2d_parameters&) { return false; }
bool passes_gradient_back(const global_average_pool2d_parameters&) { return true; }
void init_step(const global_average_pool2d_parameters&, step& s) { s.why = "the mean of each channel"; }

void plan_training(const global_average_pool2d_parameters& layer, const step& s, plan_builder& b) {
    const std::string& name = s.layer->name;
    b.forward({.id = name + ".forward",
               .when = phase::per_chunk,
               .comment = covers_of(s) + ": " + s.why,
               .action = forward_call(layer, s, b)});
    if (!s.needs_input_grad) return;
    const std::size_t bwd =
        b.add_kernel({"global_average_pool2d_bwd_f32_" + variant(layer), &signatures::global_average_pool2d_backward,
                      template_arguments(layer), fmt::format("dy [N, {}] -> dx", layer.channels), covers_of(s),
                      "each channel's gradient spread evenly"});
    b.backward({{.id = name + ".backward",
                 .when = phase::per_chunk,
                 .comment = covers_of(s),
                 .action = b.kernel_call(bwd, {rows_of(b.gradient(s.out), layer.channels), row_count(),
                                               rows_of(b.gradient(s.in), s.layer->in_size)})}});
}

void plan_inference(const global_average_pool2d_parameters& layer, const step& s, plan_builder& b) {
    b.infer({.id = s.layer->name + ".infer",
             .when = phase::per_chunk,
             .comment = covers_of(s),
             .action = forward_call(layer, s, b)});
}

std::string hyper_parameters(const global_average_pool2d_parameters&) { return {}; }

}  // namespace nnfuse::codegen::layers
