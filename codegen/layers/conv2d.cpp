// A Conv2D layer over NHWC samples: y = act(conv(x, kernel) + bias), chunk by chunk, as the dense layer does it with
// the convolution's kernels (runtime/kernels/conv2d-inl.h); its gradients summed per chunk and merged in chunk order.
#include "codegen/layers/conv2d.hpp"

#include <fmt/core.h>

#include "codegen/layers/conv_bn_fold.hpp"
#include "codegen/layers/conv_bn_input.hpp"
#include "codegen/layers/conv_bn_moments.hpp"

namespace nnfuse::codegen::layers {

std::string window_declaration(const kernels::window_geometry& g) {
    const std::string head = fmt::format("    constexpr nnfuse::kernels::window_geometry {}{{", window_name);
    const std::string align(head.size(), ' ');
    return fmt::format(
        "{0}.height = {2}, .width = {3}, .channels = {4},\n"
        "{1}.window_h = {5}, .window_w = {6}, .stride_h = {7}, .stride_w = {8},\n"
        "{1}.same_padding = {9}}};\n",
        head, align, g.height, g.width, g.channels, g.window_h, g.window_w, g.stride_h, g.stride_w,
        cpp_bool(g.same_padding));
}

std::string window_suffix(const kernels::window_geometry& g) {
    std::string text = fmt::format("h{}w{}c{}_k{}x{}", g.height, g.width, g.channels, g.window_h, g.window_w);
    if (g.stride_h != 1 || g.stride_w != 1) text += fmt::format("_s{}x{}", g.stride_h, g.stride_w);
    if (g.same_padding) text += "_same";
    return text;
}

namespace {

std::vector<template_argument> template_arguments(const conv2d_parameters& layer, activation_kind activation,
                                                  bool use_bias) {
    return {
        {window_name}, {std::to_string(layer.filters)}, {activation_enum(activation)}, {cpp_bool(use_bias), "UseBias"}};
}
std::vector<template_argument> template_arguments(const conv2d_parameters& layer, const step& s) {
    return template_arguments(layer, s.activation, layer.use_bias);
}

std::string variant(const conv2d_parameters& layer, activation_kind activation, bool use_bias) {
    return fmt::format("{}_f{}{}{}", window_suffix(layer.window), layer.filters, activation_suffix(activation),
                       use_bias ? "" : "_nobias");
}
std::string variant(const conv2d_parameters& layer, const step& s) {
    return variant(layer, s.activation, layer.use_bias);
}

std::string shapes(const conv2d_parameters& layer) {
    const kernels::window_geometry& g = layer.window;
    return fmt::format("x [N, {}, {}, {}] -> y [N, {}, {}, {}]", g.height, g.width, g.channels, g.out_height(),
                       g.out_width(), layer.filters);
}

}  // namespace

std::size_t conv2d_forward_kernel(const conv2d_parameters& layer, activation_kind activation, bool use_bias,
                                  const std::string& covers, const std::string& why, plan_builder& b) {
    return b.add_kernel({"conv2d_fwd_f32_" + variant(layer, activation, use_bias), &signatures::conv2d_forward,
                         template_arguments(layer, activation, use_bias), shapes(layer), covers, why,
                         window_declaration(layer.window)});
}

namespace {

std::size_t forward_kernel(const conv2d_parameters& layer, const step& s, plan_builder& b) {
    return conv2d_forward_kernel(layer, s.activation, layer.use_bias, covers_of(s), s.why, b);
}

argument bias_of(const conv2d_parameters& layer, const step& s) {
    return layer.use_bias ? whole(plan_builder::variable(*s.layer, "bias")) : value("nullptr");
}

}  // namespace

call conv2d_forward_call(const conv2d_parameters& layer, const step& s, plan_builder& b) {
    return b.kernel_call(forward_kernel(layer, s, b), {rows_of(b.buffer(s.in), s.layer->in_size), row_count(),
                                                       whole(plan_builder::variable(*s.layer, "kernel")),
                                                       bias_of(layer, s), rows_of(b.buffer(s.out), s.layer->out_size)});
}

namespace {

std::string moments_why(const step& s, const step& bn) {
    return fmt::format("{}; takes {}'s batch statistics of each output row as it writes it", s.why, bn.layer->name);
}

// A kernel of this step's: the plain one, or the one that applies the BN before it to its input (conv_bn_input.hpp).
kernel step_kernel(std::string name, const kernel_signature* plain, const kernel_signature* bn_input,
                   const conv2d_parameters& layer, const step& s, std::string shapes_text, std::string why,
                   plan_builder& b) {
    std::vector<template_argument> arguments = template_arguments(layer, s);
    if (!s.applies_bn_input_of) {
        return {std::move(name),
                plain,
                arguments,
                std::move(shapes_text),
                covers_of(s),
                std::move(why),
                window_declaration(layer.window)};
    }
    const step& bn = b.step_at(*s.applies_bn_input_of);
    const auto more = bn_input_template_arguments(bn);
    arguments.insert(arguments.end(), more.begin(), more.end());
    return {name + bn_input_suffix(bn),      bn_input,     arguments,
            std::move(shapes_text),          covers_of(s), why + "; " + bn_input_why(bn),
            window_declaration(layer.window)};
}

std::vector<argument> joined(std::vector<argument> first, const std::vector<argument>& rest) {
    first.insert(first.end(), rest.begin(), rest.end());
    return first;
}

// The kernel the forward that takes the next BN's statistics reads: where it is Winograd's (window_geometry.hpp's
// forward_is_winograd), the kernel's transform, formed once per step ahead of the forward (plan_builder's
// forward_prologue: the kernel changes only in the optimizer's update); else the kernel itself.
storage winograd_forward_kernel(const conv2d_parameters& layer, const step& s, plan_builder& b) {
    const storage kernel = plan_builder::variable(*s.layer, "kernel");
    const kernels::window_geometry& g = layer.window;
    if (!kernels::forward_is_winograd(g, layer.filters)) return kernel;
    storage transformed = kernel;
    transformed.name = s.layer->name + "_forward_kernel";
    transformed.floats = kernels::forward_kernel_floats(g, layer.filters);
    transformed.size_name = transformed.name + "_size";
    transformed.size_expression = fmt::format("{} * {} * {}", kernels::winograd_positions, g.channels, layer.filters);
    transformed.what = "the kernel Winograd-transformed for the forward, formed once a step";
    const std::size_t transform =
        b.add_kernel({"conv2d_winograd_f32_" + window_suffix(g) + fmt::format("_f{}", layer.filters),
                      &signatures::conv2d_transform_forward_kernel,
                      {{window_name}, {std::to_string(layer.filters)}},
                      fmt::format("kernel [3, 3, {0}, {1}] -> [{2}, {0}, {1}]", g.channels, layer.filters,
                                  kernels::winograd_positions),
                      covers_of(s),
                      "the forward's kernel: Winograd's Gm k Gm^T of each channel and filter's 3x3 taps",
                      window_declaration(g)});
    b.forward_prologue({.id = s.layer->name + ".forward_kernel",
                        .comment = "the kernel for " + s.layer->name + "'s forward (Winograd's F(2x2, 3x3))",
                        .action = b.kernel_call(transform, {whole(kernel), whole(transformed)})});
    return transformed;
}

// The training forward: plain, with the next BN's chunk statistics (conv_bn_moments.hpp), reading the previous BN's
// input (conv_bn_input.hpp), or both.
call training_forward_call(const conv2d_parameters& layer, const step& s, plan_builder& b) {
    const argument kernel = whole(plan_builder::variable(*s.layer, "kernel"));
    const argument y = rows_of(b.buffer(s.out), s.layer->out_size);
    if (!s.gives_bn_moments_of) {
        if (!s.applies_bn_input_of) return conv2d_forward_call(layer, s, b);
        const std::size_t fwd =
            b.add_kernel(step_kernel("conv2d_fwd_f32_" + variant(layer, s), &signatures::conv2d_forward,
                                     &signatures::conv2d_forward_bn_input, layer, s, shapes(layer), s.why, b));
        return b.kernel_call(fwd, joined(input_arguments(s, b), {row_count(), kernel, bias_of(layer, s), y}));
    }
    const step& bn = b.step_at(*s.gives_bn_moments_of);
    const argument transformed = whole(winograd_forward_kernel(layer, s, b));
    const std::size_t fwd = b.add_kernel(
        step_kernel("conv2d_fwd_f32_" + variant(layer, s) + "_moments", &signatures::conv2d_forward_with_moments,
                    &signatures::conv2d_forward_with_moments_bn_input, layer, s,
                    shapes(layer) + fmt::format(", {}'s chunk statistics", bn.layer->name), moments_why(s, bn), b));
    return b.kernel_call(fwd, joined(input_arguments(s, b), {row_count(), transformed, bias_of(layer, s), y,
                                                             chunk_part(chunk_statistics_records(bn, layer.filters))}));
}

// Where the input gradient is a forward convolution (window_geometry.hpp), its flipped kernel: formed once per step by
// a task beside the forward's chunks (the kernel changes only in the optimizer's update), read by every chunk's
// backward. Empty where backward reads none.
std::optional<storage> flipped_kernel(const conv2d_parameters& layer, const step& s, plan_builder& b) {
    if (!s.needs_input_grad || !kernels::input_gradient_is_forward_convolution(layer.window, layer.filters)) return {};
    const kernels::window_geometry& g = layer.window;
    storage flipped = plan_builder::variable(*s.layer, "kernel");
    flipped.name = s.layer->name + "_flipped_kernel";
    flipped.size = extent::fixed;
    flipped.what = "the kernel flipped for the input gradient as a forward convolution, formed once a step";
    if (kernels::forward_is_winograd(kernels::input_gradient_geometry(g, layer.filters), g.channels)) {
        flipped.floats = kernels::flipped_kernel_floats(g, layer.filters);
        flipped.size_name = flipped.name + "_size";
        flipped.size_expression = fmt::format("{} * {} * {}", kernels::winograd_positions, layer.filters, g.channels);
        flipped.what += ", Winograd-transformed";
    }
    const std::size_t flip =
        b.add_kernel({"conv2d_flip_f32_" + window_suffix(g) + fmt::format("_f{}", layer.filters),
                      &signatures::conv2d_flip_kernel,
                      {{window_name}, {std::to_string(layer.filters)}},
                      fmt::format("kernel [{0}, {1}, {2}, {3}] -> flipped [{0}, {1}, {3}, {2}]", g.window_h, g.window_w,
                                  g.channels, layer.filters),
                      covers_of(s),
                      "the input gradient's kernel: both spatial axes reversed, the channel axes swapped",
                      window_declaration(g)});
    b.forward({.id = s.layer->name + ".flip_kernel",
               .when = phase::task,
               .comment = "the kernel for " + s.layer->name + "'s input gradient (a forward convolution of dz)",
               .action = b.kernel_call(flip, {whole(plan_builder::variable(*s.layer, "kernel")), whole(flipped)})});
    return flipped;
}

}  // namespace

bool makes_step(const conv2d_parameters&) { return true; }
std::optional<activation_kind> element_wise_activation(const conv2d_parameters&) { return std::nullopt; }
bool absorbs_activation(const conv2d_parameters&) { return true; }
bool passes_gradient_back(const conv2d_parameters&) { return true; }
void init_step(const conv2d_parameters& layer, step& s) {
    s.activation = layer.activation;
    s.why = layer.activation == activation_kind::linear
                ? "convolution"
                : fmt::format("convolution with {} applied in the same pass", keras_name(layer.activation));
}

void plan_training(const conv2d_parameters& layer, const step& s, plan_builder& b) {
    const std::size_t in = s.layer->in_size, out = s.layer->out_size;
    const std::string& name = s.layer->name;
    std::string comment =
        covers_of(s) + ": " + (s.gives_bn_moments_of ? moments_why(s, b.step_at(*s.gives_bn_moments_of)) : s.why);
    if (s.applies_bn_input_of) comment += "; " + bn_input_why(b.step_at(*s.applies_bn_input_of));
    b.forward({.id = name + ".forward",
               .when = phase::per_chunk,
               .comment = std::move(comment),
               .action = training_forward_call(layer, s, b)});
    const std::size_t bwd = b.add_kernel(
        step_kernel("conv2d_bwd_f32_" + variant(layer, s), &signatures::conv2d_backward,
                    &signatures::conv2d_backward_bn_input, layer, s,
                    fmt::format("dy [N, {}, {}, {}] -> dkernel [{}, {}, {}, {}], dbias, dx", layer.window.out_height(),
                                layer.window.out_width(), layer.filters, layer.window.window_h, layer.window.window_w,
                                layer.window.channels, layer.filters),
                    "backward of the above; the activation's derivative from its output", b));
    const storage kernel = plan_builder::variable(*s.layer, "kernel");
    const std::optional<storage> flipped = flipped_kernel(layer, s, b);
    const storage dkernel = plan_builder::variable_gradient(*s.layer, "kernel");
    std::vector<reduction> merges = {{dkernel, plan_builder::partials_of(dkernel)}};
    argument dbias = value("nullptr");
    if (layer.use_bias) {
        const storage total = plan_builder::variable_gradient(*s.layer, "bias");
        merges.push_back({total, plan_builder::partials_of(total)});
        dbias = chunk_slot(total, merges.back().partials);
    }
    b.backward(
        {{.id = name + ".backward",
          .when = phase::per_chunk,
          .comment = covers_of(s),
          .action = b.kernel_call(
              bwd, joined(input_arguments(s, b),
                          {s.activation == activation_kind::linear ? value("nullptr") : rows_of(b.buffer(s.out), out),
                           rows_of(b.gradient(s.out), out), row_count(), whole(kernel),
                           flipped ? whole(*flipped) : value("nullptr"), chunk_slot(dkernel, merges.front().partials),
                           dbias, s.needs_input_grad ? rows_of(b.gradient(s.in), in) : value("nullptr")})),
          .merges = merges}});
}

void plan_inference(const conv2d_parameters& layer, const step& s, plan_builder& b) {
    if (s.infer_applies_bn_of) return plan_folded_conv_inference(layer, s, b.step_at(*s.infer_applies_bn_of), b);
    b.infer({.id = s.layer->name + ".infer",
             .when = phase::per_chunk,
             .comment = covers_of(s),
             .action = conv2d_forward_call(layer, s, b)});
}

std::string hyper_parameters(const conv2d_parameters& layer) {
    const kernels::window_geometry& g = layer.window;
    return fmt::format(" filters={} kernel_size=({}, {}) strides=({}, {}) padding={} activation={} use_bias={}",
                       layer.filters, g.window_h, g.window_w, g.stride_h, g.stride_w, g.same_padding ? "same" : "valid",
                       keras_name(layer.activation), cpp_bool(layer.use_bias));
}

}  // namespace nnfuse::codegen::layers
