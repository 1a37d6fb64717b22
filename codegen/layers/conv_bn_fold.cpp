#include "codegen/layers/conv_bn_fold.hpp"

#include <fmt/core.h>

#include "codegen/layers/conv2d.hpp"

namespace nnfuse::codegen::layers {

bool foldable_for_inference(const step& conv, const step& next) {
    return conv.layer->as<conv2d_parameters>() != nullptr && conv.activation == activation_kind::linear &&
           next.layer->as<batch_norm_parameters>() != nullptr && next.in == conv.out && !next.folded_into;
}

void plan_folded_conv_inference(const conv2d_parameters& layer, const step& conv, const step& bn, plan_builder& b) {
    const auto& norm = *bn.layer->as<batch_norm_parameters>();
    const std::string& name = conv.layer->name;
    const std::size_t taps = layer.window.window_h * layer.window.window_w * layer.window.channels;
    const storage folded_kernel =
        plan_builder::region(name + "_folded_kernel", extent::fixed, taps * layer.filters,
                             fmt::format("{}'s kernel with {} folded in (inference)", name, bn.layer->name));
    const storage folded_bias =
        plan_builder::region(name + "_folded_bias", extent::fixed, layer.filters,
                             fmt::format("{}'s bias with {} folded in (inference)", name, bn.layer->name));
    const auto bn_variable = [&](const char* leaf, bool present) {
        return present ? whole(plan_builder::variable(*bn.layer, leaf)) : value("nullptr");
    };
    b.infer(
        {.id = name + ".fold_bn",
         .comment = fmt::format("{} folded into {}: its moving statistics, gamma and beta scale and shift the kernel "
                                "and bias once per call",
                                bn.layer->name, name),
         .action = plan_builder::function_call(
             signatures::bn_fold_into_conv,
             {whole(plan_builder::variable(*conv.layer, "kernel")),
              layer.use_bias ? whole(plan_builder::variable(*conv.layer, "bias")) : value("nullptr"),
              value(fmt::format("/*taps=*/{}", taps)), value(fmt::format("/*filters=*/{}", layer.filters)),
              value(bn.layer->name + "_epsilon"), bn_variable("gamma", norm.scale), bn_variable("beta", norm.center),
              whole(plan_builder::variable(*bn.layer, "moving_mean")),
              whole(plan_builder::variable(*bn.layer, "moving_variance")), whole(folded_kernel), whole(folded_bias)})});
    b.infer({.id = name + ".infer_unfolded",
             .when = phase::per_chunk,
             .comment = fmt::format("{} alone: {}'s input, for its population statistics", name, bn.layer->name),
             .action = conv2d_forward_call(layer, conv, b),
             .only_stopping_before_bn = bn.bn_index});
    const std::string covers = covers_of(conv) + " + " + covers_of(bn);
    const std::size_t folded = conv2d_forward_kernel(
        layer, bn.activation, /*use_bias=*/true, covers,
        fmt::format("inference: {} folded into the convolution's kernel and bias", bn.layer->name), b);
    b.infer({.id = name + ".infer",
             .when = phase::per_chunk,
             .comment = covers + ": one convolution with the folded kernel and bias",
             .action = b.kernel_call(
                 folded, {rows_of(b.buffer(conv.in), conv.layer->in_size), row_count(), whole(folded_kernel),
                          whole(folded_bias), rows_of(b.buffer(bn.out), bn.layer->out_size)})});
}

}  // namespace nnfuse::codegen::layers
