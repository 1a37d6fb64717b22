// Categorical cross-entropy: sparse categorical cross-entropy's softmax fusion (the last layer's softmax runs inside
// the loss kernel, from the logits) with a float target per class (one-hot or soft), gradient p - t; the metric is
// the count of rows whose first argmax agrees with the target's. Predictions are the softmax of the logits.
#include "codegen/losses/categorical_crossentropy.hpp"

#include <fmt/core.h>

#include "codegen/losses/loss_statements.hpp"

namespace nnfuse::codegen::losses {

namespace {

using parameters = categorical_crossentropy_parameters;

std::size_t loss_kernel(plan_builder& b) {
    const std::size_t c = b.plan().outputs;
    return b.add_kernel({fmt::format("softmax_cxent_f32_c{}", c),
                         &signatures::softmax_categorical_cross_entropy,
                         {{std::to_string(c)}},
                         fmt::format("logits [N, {0}], targets [N, {0}]", c),
                         "loss",
                         "softmax and categorical cross-entropy in one pass; gradient p - t"});
}

}  // namespace

void check_last_layer(const parameters&, const layer_description& last) {
    if (last.activation() != activation_kind::softmax) {
        throw plan_error(
            fmt::format("the last layer '{}' must end in softmax: the loss categorical_crossentropy trains classifiers "
                        "(e.g. end with nnfuse::dense<classes>(nnfuse::softmax))",
                        last.name));
    }
}

std::optional<activation_kind> fused_activation(const parameters&) { return activation_kind::softmax; }

void rewrite_output_step(const parameters&, step& s) {
    if (s.activation != activation_kind::softmax) return;
    s.activation = activation_kind::linear;
    s.why = "produces logits: its softmax is fused with the cross-entropy loss";
}

targets_binding targets(const parameters&, const model_plan& plan) {
    return {float_targets(plan), "float", "nnfuse::values_of"};
}

std::vector<statement> plan_loss(const parameters&, plan_builder& b) {
    b.plan().loss_kernel = loss_kernel(b);
    return train_statements(b, b.plan().loss_kernel, float_targets(b.plan()));
}

statement plan_evaluation(const parameters&, plan_builder& b) {
    return evaluation_statement(b, loss_kernel(b), float_targets(b.plan()));
}

statement plan_prediction(const parameters&, plan_builder& b) {
    return {.id = "loss.predict",
            .comment = "class probabilities: the softmax that training fuses into the loss",
            .action = plan_builder::function_call(
                signatures::softmax_rows,
                {value("output"), row_count(), value(std::to_string(b.plan().outputs)), value("predictions")})};
}

}  // namespace nnfuse::codegen::losses
