#include "codegen/plan.hpp"

#include <fmt/core.h>

namespace nnfuse::codegen {

namespace {

// See plan.hpp: BN on the model's input, feeding a dense layer, folded into it.
bool foldable_into_next(const step_plan& bn, const step_plan& next) {
    const layer_description& layer = *bn.layer;
    return bn.kind == step_kind::batch_norm && layer.trainable && layer.scale && layer.center &&
           layer.rows_per_sample == 1 && bn.activation == activation_kind::linear && bn.in == 0 &&
           next.kind == step_kind::dense && next.in == bn.out;
}

}  // namespace

model_plan make_plan(const std::vector<layer_description>& layers, const plan_options& options) {
    if (layers.empty()) throw plan_error("the model has no layers");
    model_plan plan;
    plan.input_size = layers.front().in_size;
    plan.buffers.push_back({"x", plan.input_size});

    const layer_description& last = layers.back();
    const bool softmax_last = last.activation == activation_kind::softmax &&
                              (last.kind == layer_kind::dense || last.kind == layer_kind::activation);
    if (!softmax_last) {
        throw plan_error(fmt::format(
            "the last layer '{}' must end in softmax: nnfuse trains classifiers with sparse categorical "
            "cross-entropy (e.g. end with nnfuse::dense<classes>(nnfuse::softmax))",
            last.name));
    }
    plan.classes = last.out_size;

    std::size_t current = 0;  // buffer holding the output of the layers planned so far
    std::size_t bn_count = 0;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const layer_description& layer = layers[i];
        const bool is_last = i + 1 == layers.size();
        if (layer.activation == activation_kind::softmax && !is_last) {
            throw plan_error(fmt::format("layer '{}': softmax is supported only as the last layer", layer.name));
        }
        switch (layer.kind) {
            case layer_kind::flatten:
                plan.notes.push_back(fmt::format("{}: a reshape of the same memory, no kernel", layer.name));
                continue;
            case layer_kind::activation: {
                if (is_last) {  // softmax: the loss applies it
                    plan.notes.push_back(fmt::format(
                        "{}: softmax fused with the cross-entropy loss (gradient p - onehot)", layer.name));
                    continue;
                }
                step_plan* previous = plan.steps.empty() ? nullptr : &plan.steps.back();
                if (previous != nullptr && previous->out == current && previous->activation == activation_kind::linear &&
                    previous->kind != step_kind::activation) {
                    previous->activation = layer.activation;
                    previous->covers.push_back(layer.name);
                    previous->why += fmt::format("; {} applied in the same pass (its derivative is taken from the "
                                                 "output in backward)",
                                                 layer.name);
                    continue;
                }
                step_plan step;
                step.kind = step_kind::activation;
                step.layer = &layer;
                step.covers = {layer.name};
                step.activation = layer.activation;
                step.in = current;
                step.why = "an activation with no linear step before it to fuse into";
                plan.buffers.push_back({"out_" + layer.name, layer.out_size});
                step.out = current = plan.buffers.size() - 1;
                plan.steps.push_back(step);
                continue;
            }
            case layer_kind::dense:
            case layer_kind::batch_norm: {
                step_plan step;
                step.layer = &layer;
                step.covers = {layer.name};
                step.in = current;
                if (layer.kind == layer_kind::dense) {
                    step.kind = step_kind::dense;
                    if (layer.activation == activation_kind::softmax) {
                        step.activation = activation_kind::linear;
                        step.why = "produces logits: its softmax is fused with the cross-entropy loss";
                    } else {
                        step.activation = layer.activation;
                        step.why = layer.activation == activation_kind::linear
                                       ? "matrix product"
                                       : fmt::format("matrix product with {} applied in the same pass",
                                                     keras_name(layer.activation));
                    }
                } else {
                    step.kind = step_kind::batch_norm;
                    step.bn_index = bn_count++;
                    step.why = layer.trainable
                                   ? "batch statistics, normalize, scale and shift in two passes"
                                   : "frozen (trainable=false): normalizes with its moving statistics in training too";
                }
                plan.buffers.push_back({"out_" + layer.name, layer.out_size});
                step.out = current = plan.buffers.size() - 1;
                plan.steps.push_back(step);
                continue;
            }
        }
    }
    for (auto& step : plan.steps) step.needs_input_grad = step.in != 0;
    for (std::size_t i = 0; options.fold_bn_into_dense && i + 1 < plan.steps.size(); ++i) {
        step_plan& bn = plan.steps[i];
        step_plan& dense = plan.steps[i + 1];
        if (!foldable_into_next(bn, dense)) continue;
        bn.folded_into_next = true;
        dense.applies_previous_bn = true;
        bn.why = fmt::format("batch statistics and xhat only: gamma and beta are applied by {} (folded into its "
                             "kernel and bias)", dense.layer->name);
        dense.why += fmt::format("; reads {0}'s xhat with gamma and beta folded in, and gives {0}'s gradients "
                                 "from its own (no dy pass over [N, {1}])",
                                 bn.layer->name, bn.layer->features);
        plan.notes.push_back(fmt::format("{} folded into {}: its output gradient is never formed", bn.layer->name,
                                         dense.layer->name));
    }
    plan.logits = current;
    if (plan.buffers[plan.logits].per_sample != plan.classes) {
        throw plan_error("internal: the logits buffer does not match the number of classes");
    }
    if (plan.logits == 0) throw plan_error("the model has no layer with weights before its softmax");
    return plan;
}

}  // namespace nnfuse::codegen
