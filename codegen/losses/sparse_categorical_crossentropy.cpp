// Sparse categorical cross-entropy: the last layer's softmax runs inside the loss kernel, which reads the logits
// (stable: from the logits, not the probabilities) and gives the gradient p - onehot(label) in the same pass; the
// metric is the count of rows whose argmax is the label. Predictions are the softmax of the logits.
#include "codegen/losses/sparse_categorical_crossentropy.hpp"

#include <fmt/core.h>

#include "codegen/losses/loss_statements.hpp"

namespace nnfuse::codegen::losses {

namespace {

using parameters = sparse_categorical_crossentropy_parameters;

const storage labels{"labels", extent::caller, 1, "the batch's class ids"};

std::size_t loss_kernel(plan_builder& b) {
    const std::size_t c = b.plan().outputs;
    return b.add_kernel({fmt::format("softmax_xent_f32_c{}", c),
                         &signatures::softmax_cross_entropy,
                         {{std::to_string(c)}},
                         fmt::format("logits [N, {}]", c),
                         "loss",
                         "softmax and sparse categorical cross-entropy in one pass; gradient p - onehot"});
}

}  // namespace

void check_last_layer(const parameters&, const layer_description& last) {
    if (last.activation() != activation_kind::softmax) {
        throw plan_error(fmt::format(
            "the last layer '{}' must end in softmax: the loss sparse_categorical_crossentropy trains classifiers "
            "(e.g. end with nnfuse::dense<classes>(nnfuse::softmax))",
            last.name));
    }
}

std::optional<activation_kind> fused_activation(const parameters&) { return activation_kind::softmax; }

void rewrite_output_step(const parameters&, step& s) {
    if (s.activation != activation_kind::softmax) return;  // a softmax layer of its own: no step computes it
    s.activation = activation_kind::linear;
    s.why = "produces logits: its softmax is fused with the cross-entropy loss";
}

targets_binding targets(const parameters&, const model_plan&) {
    return {labels, "std::int32_t", "nnfuse::class_ids_of"};
}

std::vector<statement> plan_loss(const parameters&, plan_builder& b) {
    b.plan().loss_kernel = loss_kernel(b);
    return train_statements(b, b.plan().loss_kernel, labels);
}

statement plan_evaluation(const parameters&, plan_builder& b) {
    return evaluation_statement(b, loss_kernel(b), labels);
}

statement plan_prediction(const parameters&, plan_builder& b) {
    return {.id = "loss.predict",
            .comment = "class probabilities: the softmax that training fuses into the loss",
            .action = plan_builder::function_call(
                signatures::softmax_rows,
                {value("output"), row_count(), value(std::to_string(b.plan().outputs)), value("predictions")})};
}

}  // namespace nnfuse::codegen::losses
