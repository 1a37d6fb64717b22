#include "codegen/losses/loss_statements.hpp"

#include <fmt/core.h>

namespace nnfuse::codegen::losses {

std::vector<statement> train_statements(plan_builder& b, std::size_t kernel, const storage& targets,
                                        std::vector<argument> extra) {
    const model_plan& plan = b.plan();
    std::vector<argument> arguments = {rows_of(b.buffer(plan.output), plan.outputs),
                                       rows_of(targets, targets.floats),
                                       row_count(),
                                       value("1.0f / static_cast<float>(rows)"),
                                       rows_of(b.gradient(plan.output), plan.outputs),
                                       value("&chunk_results_[chunk].loss_sum"),
                                       value("&chunk_results_[chunk].metric_sum")};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    return {{.id = "loss.reset", .when = phase::per_chunk, .comment = "loss", .action = reset_chunk_result{}},
            {.id = "loss.forward", .when = phase::per_chunk, .action = b.kernel_call(kernel, std::move(arguments))}};
}

statement evaluation_statement(plan_builder& b, std::size_t kernel, const storage& targets,
                               std::vector<argument> extra) {
    std::vector<argument> arguments = {value("output"),
                                       whole(targets),
                                       row_count(),
                                       value("0.0f"),
                                       value("nullptr"),
                                       value("&result.loss_sum"),
                                       value("&result.metric_sum")};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    return {.id = "loss.evaluate", .action = b.kernel_call(kernel, std::move(arguments))};
}

storage float_targets(const model_plan& plan) {
    return {"target_values", extent::caller, plan.outputs, "the batch's float targets, one per output"};
}

void refuse_softmax(const layer_description& last, std::string_view loss) {
    if (last.activation() == activation_kind::softmax) {
        throw plan_error(fmt::format(
            "the last layer '{}' must not end in softmax: the loss {} fits real-valued targets; a classifier takes "
            "sparse_categorical_crossentropy or categorical_crossentropy",
            last.name, loss));
    }
}

statement output_as_prediction(plan_builder& b) {
    return {.id = "loss.predict",
            .comment = "the outputs themselves",
            .action = plan_builder::function_call(
                signatures::copy_floats, {value("output"), row_count(b.plan().outputs), value("predictions")})};
}

}  // namespace nnfuse::codegen::losses
