// A dense layer: y = act(x . kernel + bias), chunk by chunk; its gradients summed over rows per chunk and merged in
// chunk order. A dense layer that applies the previous BN's gamma and beta is planned by bn_dense_fold.cpp.
#include "codegen/layers/dense.hpp"

#include <fmt/core.h>

#include "codegen/layers/bn_dense_fold.hpp"

namespace nnfuse::codegen::layers {

namespace {

// A dense layer that applies the previous BN's beta always has a bias in training: the folded one.
bool kernel_has_bias(const dense_parameters& layer, const step& s) { return layer.use_bias || s.applies_bn_of; }

std::vector<template_argument> template_arguments(const dense_parameters& layer, const step& s) {
    return {{std::to_string(s.layer->in_size)},
            {std::to_string(layer.units)},
            {activation_enum(s.activation)},
            {cpp_bool(kernel_has_bias(layer, s)), "UseBias"}};
}

std::string variant(const dense_parameters& layer, const step& s) {
    return fmt::format("k{}_n{}{}{}", s.layer->in_size, layer.units, activation_suffix(s.activation),
                       kernel_has_bias(layer, s) ? "" : "_nobias");
}

std::size_t forward_kernel(const dense_parameters& layer, const step& s, plan_builder& b) {
    return b.add_kernel({"dense_fwd_f32_" + variant(layer, s), &signatures::dense_forward, template_arguments(layer, s),
                         fmt::format("x [N, {}] -> y [N, {}]", s.layer->in_size, layer.units), covers_of(s), s.why});
}

argument bias_of(const dense_parameters& layer, const step& s) {
    return layer.use_bias ? whole(plan_builder::variable(*s.layer, "bias")) : value("nullptr");
}

}  // namespace

bool makes_step(const dense_parameters&) { return true; }
std::optional<activation_kind> element_wise_activation(const dense_parameters&) { return std::nullopt; }
bool absorbs_activation(const dense_parameters&) { return true; }
bool passes_gradient_back(const dense_parameters&) { return true; }
// A last dense layer's softmax is the loss's to take (codegen/losses/): its module rewrites this step.
void init_step(const dense_parameters& layer, step& s) {
    s.activation = layer.activation;
    s.why = layer.activation == activation_kind::linear
                ? "matrix product"
                : fmt::format("matrix product with {} applied in the same pass", keras_name(layer.activation));
}

void plan_training(const dense_parameters& layer, const step& s, plan_builder& b) {
    const std::size_t in = s.layer->in_size, units = layer.units;
    const bool reads_transposed = s.applies_bn_of && folded_kernel_transposed(in);
    const std::size_t fwd =
        reads_transposed
            ? b.add_kernel({"dense_fwd_f32_" + variant(layer, s) + "_transposed",
                            &signatures::dense_forward_transposed_kernel, template_arguments(layer, s),
                            fmt::format("x [N, {0}], kernel^T [{1}, {0}] -> y [N, {1}]", in, units), covers_of(s),
                            s.why + ", along the inputs from the folded copy's transposed kernel"})
            : forward_kernel(layer, s, b);
    const std::size_t bwd =
        b.add_kernel({"dense_bwd_f32_" + variant(layer, s), &signatures::dense_backward, template_arguments(layer, s),
                      fmt::format("dy [N, {}] -> dkernel [{}, {}], dbias, dx [N, {}]", units, in, units, in),
                      covers_of(s), "backward of the above; the activation's derivative from its output"});
    if (s.applies_bn_of) {
        plan_folded_dense(layer, s, b, fwd, bwd);
        return;
    }
    const std::string& name = s.layer->name;
    const storage kernel = plan_builder::variable(*s.layer, "kernel");
    b.forward({.id = name + ".forward",
               .when = phase::per_chunk,
               .comment = covers_of(s) + ": " + s.why,
               .action = b.kernel_call(fwd, {rows_of(b.buffer(s.in), in), row_count(), whole(kernel), bias_of(layer, s),
                                             rows_of(b.buffer(s.out), units)})});
    const storage dkernel = plan_builder::variable_gradient(*s.layer, "kernel");
    std::vector<reduction> merges = {{dkernel, plan_builder::partials_of(dkernel)}};
    argument dbias = value("nullptr");
    if (layer.use_bias) {
        const storage total = plan_builder::variable_gradient(*s.layer, "bias");
        merges.push_back({total, plan_builder::partials_of(total)});
        dbias = chunk_slot(total, merges.back().partials);
    }
    b.backward({{.id = name + ".backward",
                 .when = phase::per_chunk,
                 .comment = covers_of(s),
                 .action = b.kernel_call(
                     bwd, {rows_of(b.buffer(s.in), in),
                           s.activation == activation_kind::linear ? value("nullptr") : rows_of(b.buffer(s.out), units),
                           rows_of(b.gradient(s.out), units), row_count(), whole(kernel),
                           chunk_slot(dkernel, merges.front().partials), dbias,
                           s.needs_input_grad ? rows_of(b.gradient(s.in), in) : value("nullptr")}),
                 .merges = merges}});
}

void plan_inference(const dense_parameters& layer, const step& s, plan_builder& b) {
    b.infer({.id = s.layer->name + ".infer",
             .when = phase::per_chunk,
             .comment = covers_of(s),
             .action = b.kernel_call(forward_kernel(layer, s, b),
                                     {rows_of(b.buffer(s.in), s.layer->in_size), row_count(),
                                      whole(plan_builder::variable(*s.layer, "kernel")), bias_of(layer, s),
                                      rows_of(b.buffer(s.out), layer.units)})});
}

std::string hyper_parameters(const dense_parameters& layer) {
    return fmt::format(" units={} activation={} use_bias={}", layer.units, keras_name(layer.activation),
                       cpp_bool(layer.use_bias));
}

}  // namespace nnfuse::codegen::layers
