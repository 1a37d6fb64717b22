#include "codegen/layers/bn_dense_fold.hpp"

#include <fmt/core.h>

#include "codegen/layers/batch_norm.hpp"

namespace nnfuse::codegen::layers {

bool foldable(const step& bn, const step& next) {
    const auto* norm = bn.layer->as<batch_norm_parameters>();
    return norm != nullptr && norm->trainable && norm->scale && norm->center && norm->rows_per_sample == 1 &&
           bn.activation == activation_kind::linear && bn.in == 0 && next.layer->as<dense_parameters>() != nullptr &&
           next.in == bn.out;
}

namespace {

const argument pixels = value("batch->pixels.data()");
const argument chunk_samples = value("batch->samples.data() + begin");
const argument pixel_scale = value("batch->scale");

}  // namespace

void plan_folded_bn(const batch_norm_parameters& layer, const step& s, plan_builder& b) {
    const std::string& name = s.layer->name;
    const std::size_t c = layer.features;
    const chunk_statistics statistics = plan_chunk_statistics(s, c, b);
    const std::size_t normalize = b.add_kernel({fmt::format("bn_normalize_f32_c{}", c),
                                                &signatures::bn_normalize_rows,
                                                {{std::to_string(c)}},
                                                fmt::format("[n, {}] -> xhat", c),
                                                name,
                                                s.why});
    const storage& per_chunk = statistics.records;
    const argument mean = whole(batch_statistic(s, "batch_mean")), inv_std = whole(batch_statistic(s, "inv_std"));

    b.forward(statistics_rows_check(layer, s, name + ": " + s.why));
    statement moments_statement{
        .id = name + ".chunk_moments",
        .when = phase::per_chunk,
        .action =
            b.kernel_call(statistics.moments_kernel, {rows_of(b.buffer(s.in), c), row_count(), chunk_part(per_chunk)})};
    statement normalize_statement{.id = name + ".normalize",
                                  .when = phase::per_chunk,
                                  .action = b.kernel_call(normalize, {rows_of(b.buffer(s.in), c), row_count(), mean,
                                                                      inv_std, rows_of(b.buffer(s.out), c)})};
    if (s.in == 0) {  // reads the model's input: uint8 variants for train_pixel_batch
        const std::size_t pixel_moments = b.add_kernel(
            {fmt::format("bn_chunk_moments_u8_c{}", c),
             &signatures::bn_chunk_moments_from_pixels,
             {{std::to_string(c)}},
             fmt::format("chunk of uint8 rows [n, {}] -> the chunk's moments", c),
             name,
             "a chunk's statistics straight from the pixels (train_pixel_batch): exact integer sums, one pass over "
             "uint8, no float copy of the batch"});
        const std::size_t pixel_normalize =
            b.add_kernel({fmt::format("bn_normalize_u8_c{}", c),
                          &signatures::bn_normalize_pixel_rows,
                          {{std::to_string(c)}},
                          fmt::format("uint8 rows [n, {}] -> xhat", c),
                          name,
                          "xhat straight from the pixels (train_pixel_batch), in dense's parallel phase"});
        moments_statement.pixel_variant = {
            {.id = name + ".chunk_moments",
             .when = phase::per_chunk,
             .action = b.kernel_call(pixel_moments,
                                     {pixels, chunk_samples, row_count(), pixel_scale, chunk_part(per_chunk)})},
            {.id = "input.prefetch",
             .when = phase::per_chunk,
             .comment = "The next batch's rows of this chunk: their memory latency passes during the step.",
             .action = plan_builder::function_call(signatures::prefetch_next_chunk,
                                                   {value("*batch"), value("begin"), row_count()})}};
        normalize_statement.pixel_variant = {
            {.id = name + ".normalize",
             .when = phase::per_chunk,
             .action = b.kernel_call(pixel_normalize, {pixels, chunk_samples, row_count(), pixel_scale, mean, inv_std,
                                                       rows_of(b.buffer(s.out), c)})}};
    }
    b.forward(std::move(moments_statement));
    b.forward(statistics_merge(layer, s, statistics, b));
    // Nothing in the step reads the moving statistics: their update is a task beside the normalizing chunks.
    b.forward(moving_statistics_update(layer, s, phase::task));
    b.forward(std::move(normalize_statement));
}

void plan_folded_dense(const dense_parameters& layer, const step& s, plan_builder& b, std::size_t forward_kernel,
                       std::size_t backward_kernel) {
    const step& bn_step = b.step_at(*s.applies_bn_of);
    const layer_description& bn = *bn_step.layer;
    const layer_description& dense = *s.layer;
    const std::size_t in = dense.in_size, units = layer.units;
    const std::string shape = fmt::format("k{}_n{}", in, units);
    const std::vector<template_argument> shape_arguments = {{std::to_string(in)}, {std::to_string(units)}};
    const bool transposed = folded_kernel_transposed(in);
    const std::size_t fold = b.add_kernel(
        {fmt::format("bn_fold_into_dense_f32_{}{}", shape, transposed ? "_transposed" : ""),
         transposed ? &signatures::bn_fold_into_dense_transposed : &signatures::bn_fold_into_dense, shape_arguments,
         fmt::format("gamma, beta [{0}], kernel [{0}, {1}] -> folded kernel{2}, bias", in, units,
                     transposed ? fmt::format("^T [{}, {}]", units, in) : ""),
         bn.name + " + " + dense.name,
         "gamma scales the kernel's rows, beta . kernel joins the bias (once a step, by each thread into its own "
         "copy)"});
    const std::size_t epilogue = b.add_kernel(
        {"bn_dense_grad_epilogue_f32_" + shape, &signatures::bn_dense_gradient_epilogue, shape_arguments,
         fmt::format("xhat^T . dz [{}, {}], sum(dz) -> dkernel, dgamma, dbeta", in, units),
         bn.name + " + " + dense.name,
         "BN's gradients from the dense layer's: dgamma = rows of kernel . (xhat^T dz), dbeta = kernel . sum(dz)"});

    const storage kernel = plan_builder::variable(dense, "kernel");
    const argument bias = layer.use_bias ? whole(plan_builder::variable(dense, "bias")) : value("nullptr");
    // The folded kernel and the sums xhat^T . dz have the kernel's shape (and size constant).
    const auto kernel_shaped = [&](std::string name, extent size, std::string what) {
        storage s = plan_builder::region(std::move(name), size, in * units, std::move(what));
        s.size_name = kernel.size_name;
        s.size_expression = kernel.size_expression;
        return s;
    };
    storage folded = kernel_shaped(dense.name + "_folded", extent::thread_copies,
                                   fmt::format("the kernel{} with the previous BN's gamma folded in, then the bias "
                                               "with its beta (training); one copy per thread, made by the thread "
                                               "that reads it",
                                               transposed ? " (transposed)" : ""));
    folded.tail = units;
    const std::string bias_at = fmt::format("nnfuse::cache_line_floats({})", kernel.size_name);
    const storage dz_sum =
        layer.use_bias ? plan_builder::variable_gradient(dense, "bias")
                       : plan_builder::region(dense.name + "_dz_sum", extent::fixed, units, "column sums of dz");
    const storage xhat_dz =
        kernel_shaped(dense.name + "_xhat_dz", extent::fixed,
                      "xhat^T . dz, from which the epilogue makes the kernel's and the previous BN's gradients");
    const reduction xhat_dz_sum{xhat_dz, plan_builder::partials_of(xhat_dz)};
    const reduction dz_column_sum{dz_sum, plan_builder::partials_of(dz_sum)};

    // Each thread folds into its own copy where its chunks first read it: a copy that one thread rewrites and the
    // others read costs an invalidation per cache line (per_thread_copies.hpp). The step's copies count as stale
    // from the end of the statistics phase on, before any chunk reads one.
    b.forward_after(bn.name + ".chunk_moments",
                    {.id = dense.name + ".stale_copies", .when = phase::whole_batch, .action = begin_step{folded}});
    call make_copy =
        b.kernel_call(fold, {whole(plan_builder::variable(bn, "gamma")), whole(plan_builder::variable(bn, "beta")),
                             whole(kernel), bias, whole(folded), at(folded, bias_at)});
    make_copy.into_thread_copy = folded;
    b.forward({.id = dense.name + ".fold",
               .when = phase::per_chunk,
               .comment = dense.name + ": " + s.why,
               .action = std::move(make_copy)});
    b.forward({.id = dense.name + ".forward",
               .when = phase::per_chunk,
               .action = b.kernel_call(forward_kernel, {rows_of(b.buffer(s.in), in), row_count(), whole(folded),
                                                        at(folded, bias_at), rows_of(b.buffer(s.out), units)})});
    b.backward(
        {{.id = dense.name + ".backward",
          .when = phase::per_chunk,
          .comment = fmt::format("{0} (on {1}'s xhat), then {1}'s gradients from {0}'s", dense.name, bn.name),
          .action = b.kernel_call(
              backward_kernel,
              {rows_of(b.buffer(s.in), in),
               s.activation == activation_kind::linear ? value("nullptr") : rows_of(b.buffer(s.out), units),
               rows_of(b.gradient(s.out), units), row_count(), whole(kernel), chunk_slot(xhat_dz, xhat_dz_sum.partials),
               chunk_slot(dz_sum, dz_column_sum.partials), value("nullptr")}),
          .merges = {xhat_dz_sum, dz_column_sum}},
         {.id = bn.name + ".gradients",
          .when = phase::whole_batch,
          .action = b.kernel_call(epilogue, {whole(plan_builder::variable(bn, "gamma")),
                                             whole(plan_builder::variable(bn, "beta")), whole(kernel), whole(dz_sum),
                                             whole(xhat_dz), whole(plan_builder::variable_gradient(dense, "kernel")),
                                             whole(plan_builder::variable_gradient(bn, "gamma")),
                                             whole(plan_builder::variable_gradient(bn, "beta"))})}});
}

}  // namespace nnfuse::codegen::layers
