// Mean squared error: the loss kernel reads the last layer's output as it is (its activation, if any, stays in
// that layer's step, and its derivative in that step's backward); the gradient 2 (y - t) / outputs per row scaled
// by 1/batch; the metric is the sum of the rows' mean |y - t|. Predictions are the outputs.
#include "codegen/losses/mean_squared_error.hpp"

#include <fmt/core.h>

namespace nnfuse::codegen::losses {

namespace {

using parameters = mean_squared_error_parameters;

storage target_values(const model_plan& plan) {
    return {"target_values", extent::caller, plan.outputs, "the batch's float targets, one per output"};
}

std::size_t loss_kernel(plan_builder& b) {
    const std::size_t n = b.plan().outputs;
    return b.add_kernel({fmt::format("mse_f32_n{}", n),
                         &signatures::mean_squared_error,
                         {{std::to_string(n)}},
                         fmt::format("outputs [N, {0}], targets [N, {0}]", n),
                         "loss",
                         "mean squared error, its gradient and the absolute error sum (mae) in one pass"});
}

}  // namespace

void check_last_layer(const parameters&, const layer_description& last) {
    if (last.activation() == activation_kind::softmax) {
        throw plan_error(fmt::format(
            "the last layer '{}' must not end in softmax: the loss mean_squared_error fits real-valued targets; a "
            "classifier takes sparse_categorical_crossentropy",
            last.name));
    }
}

std::optional<activation_kind> fused_activation(const parameters&) { return std::nullopt; }

void rewrite_output_step(const parameters&, step&) {}

targets_binding targets(const parameters&, const model_plan& plan) {
    return {target_values(plan), "float", "nnfuse::values_of"};
}

std::vector<statement> plan_loss(const parameters&, plan_builder& b) {
    model_plan& plan = b.plan();
    const std::size_t n = plan.outputs;
    plan.loss_kernel = loss_kernel(b);
    return {{.id = "loss.reset", .when = phase::per_chunk, .comment = "loss", .action = reset_chunk_result{}},
            {.id = "loss.forward",
             .when = phase::per_chunk,
             .action = b.kernel_call(
                 plan.loss_kernel,
                 {rows_of(b.buffer(plan.output), n), rows_of(target_values(plan), n), row_count(),
                  value("1.0f / static_cast<float>(rows)"), rows_of(b.gradient(plan.output), n),
                  value("&chunk_results_[chunk].loss_sum"), value("&chunk_results_[chunk].metric_sum")})}};
}

statement plan_evaluation(const parameters&, plan_builder& b) {
    return {.id = "loss.evaluate",
            .action = b.kernel_call(loss_kernel(b),
                                    {value("output"), whole(target_values(b.plan())), row_count(), value("0.0f"),
                                     value("nullptr"), value("&result.loss_sum"), value("&result.metric_sum")})};
}

statement plan_prediction(const parameters&, plan_builder& b) {
    return {.id = "loss.predict",
            .comment = "the outputs themselves",
            .action = plan_builder::function_call(
                signatures::copy_floats, {value("output"), row_count(b.plan().outputs), value("predictions")})};
}

}  // namespace nnfuse::codegen::losses
