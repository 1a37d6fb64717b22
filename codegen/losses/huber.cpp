// Huber (Keras's "huber"): the loss kernel reads the last layer's output as it is, as mean squared error's does;
// quadratic within delta of the target, linear beyond; gradient clamp(y - t, -delta, delta) / outputs per row
// scaled by 1/batch; the metric is mae. delta is the kernel's run-time argument (one kernel serves any delta).
// Predictions are the outputs.
#include "codegen/losses/huber.hpp"

#include <fmt/core.h>

#include "codegen/losses/loss_statements.hpp"

namespace nnfuse::codegen::losses {

namespace {

using parameters = huber_parameters;

std::size_t loss_kernel(plan_builder& b) {
    const std::size_t n = b.plan().outputs;
    return b.add_kernel({fmt::format("huber_f32_n{}", n),
                         &signatures::huber,
                         {{std::to_string(n)}},
                         fmt::format("outputs [N, {0}], targets [N, {0}]", n),
                         "loss",
                         "Huber loss, its gradient and the absolute error sum (mae) in one pass"});
}

// The declared delta, a double, as the kernel's float argument (fmt prints the shortest text that reads back).
argument delta_argument(const parameters& loss) { return value(fmt::format("static_cast<float>({})", loss.delta)); }

}  // namespace

void check_last_layer(const parameters&, const layer_description& last) { refuse_softmax(last, "huber"); }
std::optional<activation_kind> fused_activation(const parameters&) { return std::nullopt; }
void rewrite_output_step(const parameters&, step&) {}

targets_binding targets(const parameters&, const model_plan& plan) {
    return {float_targets(plan), "float", "nnfuse::values_of"};
}

std::vector<statement> plan_loss(const parameters& loss, plan_builder& b) {
    b.plan().loss_kernel = loss_kernel(b);
    return train_statements(b, b.plan().loss_kernel, float_targets(b.plan()), {delta_argument(loss)});
}

statement plan_evaluation(const parameters& loss, plan_builder& b) {
    return evaluation_statement(b, loss_kernel(b), float_targets(b.plan()), {delta_argument(loss)});
}

statement plan_prediction(const parameters&, plan_builder& b) { return output_as_prediction(b); }

}  // namespace nnfuse::codegen::losses
