#include "codegen/layers/conv_bn_input.hpp"

#include <fmt/core.h>

#include "codegen/layers/batch_norm.hpp"
#include "runtime/kernels/bn_input_limits.hpp"

namespace nnfuse::codegen::layers {

bool applied_by_next_conv(const step& bn, const step& conv) {
    const auto* norm = bn.layer->as<batch_norm_parameters>();
    const auto* layer = conv.layer->as<conv2d_parameters>();
    return norm != nullptr && layer != nullptr && conv.in == bn.out && !conv.skip_in && norm->trainable &&
           !bn.folded_into && bn.activation != activation_kind::softmax && norm->features == layer->window.channels &&
           norm->rows_per_sample * norm->features == conv.layer->in_size &&
           layer->window.width * layer->window.channels <= kernels::kBnInputMaxRowFloats;
}

std::string bn_input_suffix(const step& bn) {
    const auto* norm = bn.layer->as<batch_norm_parameters>();
    return fmt::format("_bn{}{}{}",
                       bn.activation == activation_kind::linear ? "_linear" : activation_suffix(bn.activation),
                       norm->scale ? "" : "_nogamma", norm->center ? "" : "_nobeta");
}

std::vector<template_argument> bn_input_template_arguments(const step& bn) {
    const auto* norm = bn.layer->as<batch_norm_parameters>();
    return {{activation_enum(bn.activation), "BnAct"},
            {cpp_bool(norm->scale), "Scale"},
            {cpp_bool(norm->center), "Center"}};
}

std::vector<argument> input_arguments(const step& s, plan_builder& b) {
    if (!s.applies_bn_input_of) return {rows_of(b.buffer(s.in), s.layer->in_size)};
    const step& bn = b.step_at(*s.applies_bn_input_of);
    const auto* norm = bn.layer->as<batch_norm_parameters>();
    return {rows_of(b.buffer(bn.in), s.layer->in_size), whole(batch_statistic(bn, "batch_mean")),
            whole(batch_statistic(bn, "inv_std")),
            norm->scale ? whole(plan_builder::variable(*bn.layer, "gamma")) : value("nullptr"),
            norm->center ? whole(plan_builder::variable(*bn.layer, "beta")) : value("nullptr")};
}

std::string bn_input_why(const step& bn) {
    return fmt::format("applies {} ({}) to its input as it copies it into its band: {}'s output is never stored",
                       bn.layer->name, covers_of(bn), bn.layer->name);
}

}  // namespace nnfuse::codegen::layers
