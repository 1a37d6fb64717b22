// nnfuse::codegen::losses, mean_absolute_error: the generator's module for this loss (the interface:
// loss_module.hpp).
#pragma once

#include <optional>
#include <vector>

#include "codegen/layers/plan_builder.hpp"

namespace nnfuse::codegen::losses {

void check_last_layer(const mean_absolute_error_parameters& loss, const layer_description& last);
std::optional<activation_kind> fused_activation(const mean_absolute_error_parameters& loss);
void rewrite_output_step(const mean_absolute_error_parameters& loss, step& s);
targets_binding targets(const mean_absolute_error_parameters& loss, const model_plan& plan);
std::vector<statement> plan_loss(const mean_absolute_error_parameters& loss, plan_builder& b);
statement plan_evaluation(const mean_absolute_error_parameters& loss, plan_builder& b);
statement plan_prediction(const mean_absolute_error_parameters& loss, plan_builder& b);

}  // namespace nnfuse::codegen::losses
