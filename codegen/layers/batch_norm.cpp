// A batch_norm layer: batch statistics per chunk merged in chunk order, then normalize, scale and shift per chunk in
// training (moving statistics updated once a step), the moving statistics in inference; frozen (trainable=false) it
// normalizes with the moving statistics in training too. A BN folded into the next dense layer is planned by
// bn_dense_fold.cpp.
#include "codegen/layers/batch_norm.hpp"

#include <fmt/core.h>

#include "codegen/layers/bn_dense_fold.hpp"
#include "codegen/layers/conv_bn_moments.hpp"

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
    if (std::string(which) == "moving_group_mean") {
        return plan_builder::region(name, extent::fixed, c,
                                    "the batch mean the moving mean follows: the batch's, or rank 0's share's under "
                                    "per-rank statistics");
    }
    if (std::string(which) == "moving_group_var") {
        return plan_builder::region(name, extent::fixed, c, "the biased variance the moving variance follows");
    }
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
            {value(std::to_string(layer.features)), whole(batch_statistic(s, "moving_group_mean")),
             whole(batch_statistic(s, "moving_group_var")),
             value("groups.moving().rows" +
                   (layer.rows_per_sample == 1 ? std::string() : fmt::format(" * {}", layer.rows_per_sample))),
             value(fmt::format("nnfuse::bn_profile::{}", to_string(layer.profile))), value(s.layer->name + "_momentum"),
             value(cpp_bool(layer.cumulative_average)), value(fmt::format("++bn_batches_seen_[{}]", s.bn_index)),
             whole(plan_builder::variable(*s.layer, "moving_mean")),
             whole(plan_builder::variable(*s.layer, "moving_variance"))})};
}

chunk_statistics plan_chunk_statistics(const step& s, std::size_t features, plan_builder& b) {
    const std::string& name = s.layer->name;
    const std::string c = std::to_string(features);
    b.plan().uses_statistics_groups = true;
    return {
        .moments_kernel =
            s.bn_moments_by
                ? chunk_statistics::no_kernel
                : b.add_kernel({"bn_chunk_moments_f32_c" + c,
                                &signatures::bn_chunk_moments,
                                {{c}},
                                fmt::format("chunk [n, {}] -> center, sum(x - center), sum((x - center)^2)", c),
                                name,
                                "a chunk's statistics, on whichever thread runs the chunk"}),
        .merge_kernel = b.add_kernel({"bn_merge_group_moments_f32_c" + c,
                                      &signatures::bn_merge_group_moments,
                                      {{c}},
                                      fmt::format("chunks' moments -> mean, var, inv_std [{}]", c),
                                      name,
                                      "the chunks' statistics merged in chunk order (Chan et al., in double): the "
                                      "same for any thread count; over processes, the whole batch's (synchronized) or "
                                      "this rank's share's (per-rank)"}),
        .records = chunk_statistics_records(s, features)};
}

statement statistics_merge(const batch_norm_parameters& layer, const step& s, const chunk_statistics& statistics,
                           plan_builder& b) {
    const std::string rows_scale = layer.rows_per_sample == 1 ? "" : fmt::format(" * {}", layer.rows_per_sample);
    return {.id = s.layer->name + ".merge",
            .when = phase::whole_batch,
            .action =
                b.kernel_call(statistics.merge_kernel,
                              {whole(statistics.records), value("groups"), value(std::to_string(layer.rows_per_sample)),
                               value("chunk_rows" + rows_scale), value(s.layer->name + "_epsilon"),
                               whole(batch_statistic(s, "batch_mean")), whole(batch_statistic(s, "batch_var")),
                               whole(batch_statistic(s, "inv_std")), whole(batch_statistic(s, "moving_group_mean")),
                               whole(batch_statistic(s, "moving_group_var"))})};
}

bool makes_step(const batch_norm_parameters&) { return true; }
std::optional<activation_kind> element_wise_activation(const batch_norm_parameters&) { return std::nullopt; }
bool absorbs_activation(const batch_norm_parameters&) { return true; }
bool passes_gradient_back(const batch_norm_parameters&) { return true; }
void init_step(const batch_norm_parameters& layer, step& s) {
    s.activation = activation_kind::linear;
    s.why = layer.trainable ? "batch statistics per chunk, merged; normalize, scale and shift per chunk"
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
    // Every pass over rows runs per chunk; the chunks' records (statistics forward, gradient sums backward) are
    // merged in chunk order between the parallel phases, so the result is the same for any thread or process count.
    const std::string rows_scale = per_row == c ? "" : fmt::format(" * {}", layer.rows_per_sample);
    const chunk_statistics statistics = plan_chunk_statistics(s, c, b);
    const std::size_t normalize = b.add_kernel(
        {"bn_fwd_train_f32_" + variant(layer, s), &signatures::bn_normalize_chunk, template_arguments(layer, s),
         fmt::format("[n, {}] -> y (n = a chunk's values per feature)", c), covers_of(s), s.why});

    const std::size_t finish =
        b.add_kernel({fmt::format("bn_merge_group_grads_f32_c{}{}{}", c, layer.scale ? "" : "_nogamma",
                                  layer.center ? "" : "_nobeta"),
                      &signatures::bn_merge_group_gradients,
                      {{std::to_string(c)}, {cpp_bool(layer.scale), "Scale"}, {cpp_bool(layer.center), "Center"}},
                      fmt::format("chunks' sums -> dgamma, dbeta, dx coefficients [{}]", c),
                      covers_of(s),
                      "the chunks' gradient sums added in chunk order (in double); under per-rank statistics the "
                      "dx coefficients from this rank's share, dgamma and dbeta over every share"});
    const storage gradient_sums = plan_builder::region(name + "_chunk_gradient_sums", extent::chunk_moments, c,
                                                       "each chunk's sum(dz) and sum(dz * (x - mean))");
    const argument mean = whole(batch_statistic(s, "batch_mean")), inv_std = whole(batch_statistic(s, "inv_std"));
    const argument gamma = optional_variable(s, "gamma", layer.scale),
                   beta = optional_variable(s, "beta", layer.center);

    b.forward(statistics_rows_check(layer, s, covers_of(s) + ": " + s.why));
    if (!s.bn_moments_by) {  // else the conv2d's forward wrote the records
        b.forward({.id = name + ".chunk_moments",
                   .when = phase::per_chunk,
                   .action = b.kernel_call(statistics.moments_kernel,
                                           {rows_of(b.buffer(s.in), per_row), row_count(layer.rows_per_sample),
                                            chunk_part(statistics.records)})});
    }
    b.forward(statistics_merge(layer, s, statistics, b));
    // Nothing in the step reads the moving statistics: their update is a task beside the normalizing chunks.
    b.forward(moving_statistics_update(layer, s, phase::task));
    // Applied by the conv2d reading it (conv_bn_input.hpp): no output map; backward recomputes y from x.
    const bool recomputes_y = s.bn_applied_by && s.activation != activation_kind::linear;
    if (!s.bn_applied_by) {
        b.forward(
            {.id = name + ".forward",
             .when = phase::per_chunk,
             .action = b.kernel_call(normalize, {rows_of(b.buffer(s.in), per_row), row_count(layer.rows_per_sample),
                                                 mean, inv_std, gamma, beta, rows_of(b.buffer(s.out), per_row)})});
    }

    const storage coefficients =
        plan_builder::region(name + "_dx_coefficients", extent::fixed, 2 * c, "the dx pass's per-feature coefficients");
    const std::vector<template_argument> from_x_arguments = {{std::to_string(c)},
                                                             {activation_enum(s.activation)},
                                                             {cpp_bool(layer.scale), "Scale"},
                                                             {cpp_bool(layer.center), "Center"}};
    const std::string from_x_why = fmt::format("; y recomputed from x ({}'s output is not stored: {} applies it)", name,
                                               s.bn_applied_by ? b.step_at(*s.bn_applied_by).layer->name : "");
    const std::string sums_name = fmt::format("bn_chunk_grad_sums_f32_c{}{}", c, activation_suffix(s.activation));
    const std::string sums_shapes = fmt::format("dy [n, {}] -> sum(dz), sum(dz * (x - mean))", c);
    const std::string sums_why = "a chunk's gradient sums, on whichever thread runs the chunk";
    const std::size_t sums = recomputes_y
                                 ? b.add_kernel({fmt::format("{}{}{}_from_x", sums_name, layer.scale ? "" : "_nogamma",
                                                             layer.center ? "" : "_nobeta"),
                                                 &signatures::bn_chunk_gradient_sums_from_x, from_x_arguments,
                                                 sums_shapes, covers_of(s), sums_why + from_x_why})
                                 : b.add_kernel({sums_name,
                                                 &signatures::bn_chunk_gradient_sums,
                                                 {{std::to_string(c)}, {activation_enum(s.activation)}},
                                                 sums_shapes,
                                                 covers_of(s),
                                                 sums_why});
    std::vector<statement> backward{
        {.id = name + ".gradient_sums",
         .when = phase::per_chunk,
         .comment = covers_of(s),
         .action = recomputes_y
                       ? b.kernel_call(sums, {rows_of(b.buffer(s.in), per_row), rows_of(b.gradient(s.out), per_row),
                                              row_count(layer.rows_per_sample), mean, inv_std, gamma, beta,
                                              chunk_part(gradient_sums)})
                       : b.kernel_call(sums, {rows_of(b.buffer(s.in), per_row), y_for_derivative,
                                              rows_of(b.gradient(s.out), per_row), row_count(layer.rows_per_sample),
                                              mean, chunk_part(gradient_sums)})},
        {.id = name + ".gradients",
         .when = phase::whole_batch,
         .action = b.kernel_call(
             finish,
             {whole(gradient_sums), whole(statistics.records), value("groups"),
              value(std::to_string(layer.rows_per_sample)), value("chunk_rows" + rows_scale), value(name + "_epsilon"),
              gamma, inv_std, optional_gradient(s, "gamma", layer.scale), optional_gradient(s, "beta", layer.center),
              s.needs_input_grad ? whole(coefficients) : value("nullptr")})}};
    if (s.needs_input_grad && recomputes_y) {
        const std::size_t dx = b.add_kernel(
            {fmt::format("bn_bwd_f32_c{}{}{}{}_from_x", c, activation_suffix(s.activation),
                         layer.scale ? "" : "_nogamma", layer.center ? "" : "_nobeta"),
             &signatures::bn_chunk_input_gradient_from_x, from_x_arguments, fmt::format("dy [n, {}] -> dx", c),
             covers_of(s), "dx from the merged sums, per chunk" + from_x_why});
        backward.push_back(
            {.id = name + ".backward",
             .when = phase::per_chunk,
             .action = b.kernel_call(
                 dx, {rows_of(b.buffer(s.in), per_row), rows_of(b.gradient(s.out), per_row),
                      row_count(layer.rows_per_sample), gamma, beta, mean, inv_std, whole(coefficients), grad_in})});
    } else if (s.needs_input_grad) {
        const std::size_t dx = b.add_kernel(
            {fmt::format("bn_bwd_f32_c{}{}{}", c, activation_suffix(s.activation), layer.scale ? "" : "_nogamma"),
             &signatures::bn_chunk_input_gradient,
             {{std::to_string(c)}, {activation_enum(s.activation)}, {cpp_bool(layer.scale), "Scale"}},
             fmt::format("dy [n, {}] -> dx", c),
             covers_of(s),
             "dx from the merged sums, per chunk"});
        backward.push_back(
            {.id = name + ".backward",
             .when = phase::per_chunk,
             .action = b.kernel_call(
                 dx, {rows_of(b.buffer(s.in), per_row), y_for_derivative, rows_of(b.gradient(s.out), per_row),
                      row_count(layer.rows_per_sample), gamma, mean, inv_std, whole(coefficients), grad_in})});
    }
    b.backward(std::move(backward));
}

void plan_inference(const batch_norm_parameters& layer, const step& s, plan_builder& b) {
    b.plan().bn_inputs.emplace_back(s.bn_index, b.buffer(s.in));
    if (s.infer_folded) return;  // the Conv2D before it applies it (conv_bn_fold.hpp)
    b.infer({.id = s.layer->name + ".stop",
             .when = phase::per_chunk,
             .comment = covers_of(s),
             .action = stop_before_bn{s.bn_index}});
    b.infer({.id = s.layer->name + ".infer", .when = phase::per_chunk, .action = infer_call(layer, s, b)});
}

std::string hyper_parameters(const batch_norm_parameters& layer) {
    return fmt::format(" profile={} momentum={} epsilon={} cumulative_average={} center={} scale={} trainable={}",
                       to_string(layer.profile), layer.momentum, layer.epsilon, cpp_bool(layer.cumulative_average),
                       cpp_bool(layer.center), cpp_bool(layer.scale), cpp_bool(layer.trainable));
}

}  // namespace nnfuse::codegen::layers
