// Mean absolute error: the loss kernel reads the last layer's output as it is (its activation, if any, stays in
// that layer's step, and its derivative in that step's backward); the gradient sign(y - t) / outputs per row (0 at y =
// t) scaled by 1/batch; the metric is the loss itself (Keras reports it as mae). Predictions are the outputs.
#include "codegen/losses/mean_absolute_error.hpp"

#include <fmt/core.h>

#include "codegen/losses/loss_statements.hpp"

namespace nnfuse::codegen::losses {

namespace {

using parameters = mean_absolute_error_parameters;

std::size_t loss_kernel(plan_builder& b) {
    const std::size_t n = b.plan().outputs;
    return b.add_kernel({fmt::format("mae_f32_n{}", n),
                         &signatures::mean_absolute_error,
                         {{std::to_string(n)}},
                         fmt::format("outputs [N, {0}], targets [N, {0}]", n),
                         "loss",
                         "mean absolute error, its subgradient and the mae metric in one pass"});
}

}  // namespace

void check_last_layer(const parameters&, const layer_description& last) { refuse_softmax(last, "mean_absolute_error"); }
std::optional<activation_kind> fused_activation(const parameters&) { return std::nullopt; }
void rewrite_output_step(const parameters&, step&) {}

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

statement plan_prediction(const parameters&, plan_builder& b) { return output_as_prediction(b); }

}  // namespace nnfuse::codegen::losses
