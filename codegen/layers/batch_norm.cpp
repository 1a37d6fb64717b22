// A batch_norm layer: batch statistics, normalize, scale and shift over the whole batch in training (moving
// statistics updated once a step), the moving statistics in inference; frozen (trainable=false) it normalizes with
// the moving statistics in training too. A BN folded into the next dense layer is planned by bn_dense_fold.cpp.
#include "codegen/layers/batch_norm.hpp"

#include <fmt/core.h>

#include "codegen/layers/bn_dense_fold.hpp"

namespace nnfuse::codegen::layers {

namespace {

std::string variant(const batch_norm_parameters& layer, const step& s) {
    return fmt::format("c{}{}{}{}", layer.features, activation_suffix(s.activation), layer.scale ? "" : "_nogamma",
                       layer.center ? "" : "_nobeta");
}

std::vector<template_argument> template_arguments(const batch_norm_parameters& layer, const step& s) {
    return {{std::to_string(layer.features)},
            {activation_enum(s.activation)},
            {cpp_bool(layer.scale), "Scale"},
            {cpp_bool(layer.center), "Center"}};
}

std::size_t infer_kernel(const batch_norm_parameters& layer, const step& s, plan_builder& b) {
    return b.add_kernel({"bn_fwd_infer_f32_" + variant(layer, s), &signatures::bn_forward_infer,
                         template_arguments(layer, s), fmt::format("[M, {}], y = x * s + t", layer.features),
                         covers_of(s), "inference: one pass with s, t from the moving statistics"});
}

argument optional_variable(const step& s, const char* leaf, bool present) {
    return present ? whole(plan_builder::variable(*s.layer, leaf)) : value("nullptr");
}

argument optional_gradient(const step& s, const char* leaf, bool present) {
    return present ? whole(plan_builder::variable_gradient(*s.layer, leaf)) : value("nullptr");
}

call infer_call(const batch_norm_parameters& layer, const step& s, plan_builder& b) {
    const std::size_t per_row = layer.rows_per_sample * layer.features;
    return b.kernel_call(
        infer_kernel(layer, s, b),
        {rows_of(b.buffer(s.in), per_row), row_count(layer.rows_per_sample), value(s.layer->name + "_epsilon"),
         optional_variable(s, "gamma", layer.scale), optional_variable(s, "beta", layer.center),
         whole(plan_builder::variable(*s.layer, "moving_mean")),
         whole(plan_builder::variable(*s.layer, "moving_variance")), rows_of(b.buffer(s.out), per_row)});
}

}  // namespace

storage batch_statistic(const step& s, const char* which) {
    const std::size_t c = s.layer->as<batch_norm_parameters>()->features;
    const std::string name = s.layer->name + "_" + which;
    if (std::string(which) == "batch_mean")
        return plan_builder::region(name, extent::fixed, c, "batch mean, saved for backward");
    if (std::string(which) == "batch_var") return plan_builder::region(name, extent::fixed, c, "biased batch variance");
    return plan_builder::region(name, extent::fixed, c, "1/sqrt(batch variance + epsilon), saved for backward");
}

statement statistics_rows_check(const batch_norm_parameters& layer, const step& s, std::string comment) {
    return {.id = s.layer->name + ".check",
            .when = phase::whole_batch,
            .comment = std::move(comment),
            .action = check_statistics_rows{layer.rows_per_sample, s.layer->in_dims}};
}

statement moving_statistics_update(const batch_norm_parameters& layer, const step& s, phase when) {
    return {
        .id = s.layer->name + ".moving",
        .when = when,
        .action = plan_builder::function_call(
            signatures::bn_update_moving,
            {value(std::to_string(layer.features)), whole(batch_statistic(s, "batch_mean")),
             whole(batch_statistic(s, "batch_var")), row_count(layer.rows_per_sample),
             value(fmt::format("nnfuse::bn_profile::{}", to_string(layer.profile))), value(s.layer->name + "_momentum"),
             value(cpp_bool(layer.cumulative_average)), value(fmt::format("++bn_batches_seen_[{}]", s.bn_index)),
             whole(plan_builder::variable(*s.layer, "moving_mean")),
             whole(plan_builder::variable(*s.layer, "moving_variance"))})};
}

bool makes_step(const batch_norm_parameters&) { return true; }
std::optional<activation_kind> element_wise_activation(const batch_norm_parameters&) { return std::nullopt; }
bool absorbs_activation(const batch_norm_parameters&) { return true; }
bool passes_gradient_back(const batch_norm_parameters&) { return true; }
void init_step(const batch_norm_parameters& layer, step& s) {
    s.activation = activation_kind::linear;
    s.why = layer.trainable ? "batch statistics, normalize, scale and shift in two passes"
                            : "frozen (trainable=false): normalizes with its moving statistics in training too";
}

void plan_training(const batch_norm_parameters& layer, const step& s, plan_builder& b) {
    const std::string& name = s.layer->name;
    const std::size_t c = layer.features, per_row = layer.rows_per_sample * c;
    infer_kernel(layer, s, b);
    const argument y_for_derivative =
        s.activation == activation_kind::linear ? value("nullptr") : rows_of(b.buffer(s.out), per_row);
    const argument grad_in = s.needs_input_grad ? rows_of(b.gradient(s.in), per_row) : value("nullptr");
    if (!layer.trainable) {
        b.forward({.id = name + ".forward",
                   .when = phase::per_chunk,
                   .comment = covers_of(s) + ": " + s.why,
                   .action = infer_call(layer, s, b)});
        if (!s.needs_input_grad) return;
        const std::size_t bwd =
            b.add_kernel({"bn_bwd_frozen_f32_" + variant(layer, s),
                          &signatures::bn_backward_frozen,
                          {{std::to_string(c)}, {activation_enum(s.activation)}, {cpp_bool(layer.scale), "Scale"}},
                          fmt::format("dy [M, {}] -> dx", c),
                          covers_of(s),
                          "frozen layer: dx = dy * act' * s"});
        b.backward({{.id = name + ".backward",
                     .when = phase::per_chunk,
                     .comment = covers_of(s),
                     .action = b.kernel_call(
                         bwd, {y_for_derivative, rows_of(b.gradient(s.out), per_row), row_count(layer.rows_per_sample),
                               value(name + "_epsilon"), optional_variable(s, "gamma", layer.scale),
                               whole(plan_builder::variable(*s.layer, "moving_variance")), grad_in})}});
        return;
    }
    if (s.folded_into) {
        plan_folded_bn(layer, s, b);
        return;
    }
    const std::size_t fwd = b.add_kernel(
        {"bn_fwd_train_f32_" + variant(layer, s), &signatures::bn_forward_train, template_arguments(layer, s),
         fmt::format("[M, {}] (M = batch values per feature)", c), covers_of(s), s.why});
    const std::size_t bwd =
        b.add_kernel({"bn_bwd_f32_" + variant(layer, s), &signatures::bn_backward, template_arguments(layer, s),
                      fmt::format("dy [M, {}] -> dgamma, dbeta, dx", c), covers_of(s),
                      s.needs_input_grad ? "reductions pass, then dx pass"
                                         : "input is the model's input: dgamma and dbeta only, dx not computed"});
    b.forward(statistics_rows_check(layer, s, covers_of(s) + ": " + s.why));
    b.forward({.id = name + ".forward",
               .when = phase::whole_batch,
               .action = b.kernel_call(
                   fwd, {rows_of(b.buffer(s.in), per_row), row_count(layer.rows_per_sample), value(name + "_epsilon"),
                         optional_variable(s, "gamma", layer.scale), optional_variable(s, "beta", layer.center),
                         whole(batch_statistic(s, "batch_mean")), whole(batch_statistic(s, "batch_var")),
                         whole(batch_statistic(s, "inv_std")), rows_of(b.buffer(s.out), per_row)})});
    b.forward(moving_statistics_update(layer, s, phase::whole_batch));
    const storage scratch = plan_builder::region("bn_scratch", extent::fixed, 2 * c, "backward's per-feature sums");
    b.backward({{.id = name + ".backward",
                 .when = phase::whole_batch,
                 .comment = covers_of(s),
                 .action = b.kernel_call(
                     bwd, {rows_of(b.buffer(s.in), per_row), y_for_derivative, rows_of(b.gradient(s.out), per_row),
                           row_count(layer.rows_per_sample), optional_variable(s, "gamma", layer.scale),
                           whole(batch_statistic(s, "batch_mean")), whole(batch_statistic(s, "inv_std")),
                           optional_gradient(s, "gamma", layer.scale), optional_gradient(s, "beta", layer.center),
                           grad_in, whole(scratch)})}});
}

void plan_inference(const batch_norm_parameters& layer, const step& s, plan_builder& b) {
    b.infer({.id = s.layer->name + ".stop",
             .when = phase::per_chunk,
             .comment = covers_of(s),
             .action = stop_before_bn{s.bn_index}});
    b.infer({.id = s.layer->name + ".infer", .when = phase::per_chunk, .action = infer_call(layer, s, b)});
    b.plan().bn_inputs.emplace_back(s.bn_index, b.buffer(s.in));
}

std::string hyper_parameters(const batch_norm_parameters& layer) {
    return fmt::format(" profile={} momentum={} epsilon={} cumulative_average={} center={} scale={} trainable={}",
                       to_string(layer.profile), layer.momentum, layer.epsilon, cpp_bool(layer.cumulative_average),
                       cpp_bool(layer.center), cpp_bool(layer.scale), cpp_bool(layer.trainable));
}

}  // namespace nnfuse::codegen::layers
