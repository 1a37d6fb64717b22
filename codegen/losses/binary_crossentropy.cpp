// Binary cross-entropy: the last layer's sigmoid runs inside the loss kernel, which reads the logits (stable, as
// Keras computes it for a model ending in sigmoid) and gives the gradient sigmoid(z) - t per output; the metric is
// Keras's binary_accuracy. Predictions are the sigmoid of the logits.
#include "codegen/losses/binary_crossentropy.hpp"

#include <fmt/core.h>

#include "codegen/losses/loss_statements.hpp"

namespace nnfuse::codegen::losses {

namespace {

using parameters = binary_crossentropy_parameters;

std::size_t loss_kernel(plan_builder& b) {
    const std::size_t n = b.plan().outputs;
    return b.add_kernel({fmt::format("sigmoid_bxent_f32_n{}", n),
                         &signatures::sigmoid_binary_cross_entropy,
                         {{std::to_string(n)}},
                         fmt::format("logits [N, {0}], targets [N, {0}]", n),
                         "loss",
                         "sigmoid and binary cross-entropy in one pass; gradient sigmoid(z) - t"});
}

}  // namespace

void check_last_layer(const parameters&, const layer_description& last) {
    if (last.activation() != activation_kind::sigmoid) {
        throw plan_error(fmt::format(
            "the last layer '{}' must end in sigmoid: the loss binary_crossentropy is the cross-entropy of the "
            "probabilities sigmoid gives (e.g. end with nnfuse::dense<outputs>(nnfuse::sigmoid))",
            last.name));
    }
}

std::optional<activation_kind> fused_activation(const parameters&) { return activation_kind::sigmoid; }

void rewrite_output_step(const parameters&, step& s) {
    if (s.activation != activation_kind::sigmoid) return;  // a sigmoid layer of its own: no step computes it
    s.activation = activation_kind::linear;
    s.why = "produces logits: its sigmoid is fused with the binary cross-entropy loss";
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
            .comment = "probabilities: the sigmoid that training fuses into the loss",
            .action = plan_builder::function_call(
                signatures::sigmoid_values, {value("output"), row_count(b.plan().outputs), value("predictions")})};
}

}  // namespace nnfuse::codegen::losses
