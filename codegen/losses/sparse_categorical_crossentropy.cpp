// Sparse categorical cross-entropy: the last layer's softmax runs inside the loss kernel, which reads the logits
// (stable: from the logits, not the probabilities) and gives the gradient p - onehot(label) in the same pass; the
// metric is the count of rows whose argmax is the label. Predictions are the softmax of the logits.
#include "codegen/losses/sparse_categorical_crossentropy.hpp"

#include <fmt/core.h>

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
    model_plan& plan = b.plan();
    const std::size_t c = plan.outputs;
    plan.loss_kernel = loss_kernel(b);
    return {{.id = "loss.reset", .when = phase::per_chunk, .comment = "loss", .action = reset_chunk_result{}},
            {.id = "loss.forward",
             .when = phase::per_chunk,
             .action = b.kernel_call(
                 plan.loss_kernel,
                 {rows_of(b.buffer(plan.output), c), rows_of(labels, 1), row_count(),
                  value("1.0f / static_cast<float>(rows)"), rows_of(b.gradient(plan.output), c),
                  value("&chunk_results_[chunk].loss_sum"), value("&chunk_results_[chunk].metric_sum")})}};
}

statement plan_evaluation(const parameters&, plan_builder& b) {
    return {.id = "loss.evaluate",
            .action = b.kernel_call(loss_kernel(b),
                                    {value("output"), whole(labels), row_count(), value("0.0f"), value("nullptr"),
                                     value("&result.loss_sum"), value("&result.metric_sum")})};
}

statement plan_prediction(const parameters&, plan_builder& b) {
    return {.id = "loss.predict",
            .comment = "class probabilities: the softmax that training fuses into the loss",
            .action = plan_builder::function_call(
                signatures::softmax_rows,
                {value("output"), row_count(), value(std::to_string(b.plan().outputs)), value("predictions")})};
}

}  // namespace nnfuse::codegen::losses
