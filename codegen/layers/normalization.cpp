// A normalization layer (Keras's Normalization, axis=-1): the model's input standardized with the statistics adapt()
// fitted (runtime/train/adapt.hpp), chunk by chunk, the same statement in training and inference. No backward: the
// DSL puts the layer right after the input (or a flatten), so nothing before it trains, and the step after it forms
// no input gradient (passes_gradient_back).
#include "codegen/layers/normalization.hpp"

#include <fmt/core.h>

namespace nnfuse::codegen::layers {

namespace {

statement forward_statement(const normalization_parameters& layer, const step& s, plan_builder& b, bool training) {
    const std::size_t per_row = layer.rows_per_sample * layer.features;
    const std::size_t k =
        b.add_kernel({fmt::format("normalization_fwd_f32_n{}", layer.features),
                      &signatures::normalization_forward,
                      {{std::to_string(layer.features)}},
                      layer.rows_per_sample == 1 ? fmt::format("[N, {}]", layer.features)
                                                 : fmt::format("[N * {}, {}]", layer.rows_per_sample, layer.features),
                      covers_of(s),
                      s.why});
    return {.id = s.layer->name + (training ? ".forward" : ".infer"),
            .when = phase::per_chunk,
            .comment = training ? covers_of(s) + ": " + s.why : covers_of(s),
            .action = b.kernel_call(
                k, {rows_of(b.buffer(s.in), per_row), row_count(layer.rows_per_sample),
                    whole(plan_builder::variable(*s.layer, "mean")),
                    whole(plan_builder::variable(*s.layer, "variance")), rows_of(b.buffer(s.out), per_row)})};
}

}  // namespace

bool makes_step(const normalization_parameters&) { return true; }
std::optional<activation_kind> element_wise_activation(const normalization_parameters&) { return std::nullopt; }
bool absorbs_activation(const normalization_parameters&) { return false; }
bool passes_gradient_back(const normalization_parameters&) { return false; }
void init_step(const normalization_parameters&, step& s) {
    s.activation = activation_kind::linear;
    s.why = "(x - mean) / max(sqrt(variance), 1e-7) per feature, the statistics adapt() fitted; no backward";
}

void plan_training(const normalization_parameters& layer, const step& s, plan_builder& b) {
    b.forward(forward_statement(layer, s, b, true));
    b.plan().notes.push_back(fmt::format(
        "{}: no backward: nothing before it trains, so the step after it forms no input gradient", s.layer->name));
}

void plan_inference(const normalization_parameters& layer, const step& s, plan_builder& b) {
    b.infer(forward_statement(layer, s, b, false));
}

std::string hyper_parameters(const normalization_parameters&) { return " axis=-1"; }

}  // namespace nnfuse::codegen::layers
