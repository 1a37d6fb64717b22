// nnfuse::codegen::losses, huber: the generator's module for this loss (the interface:
// loss_module.hpp).
#pragma once

#include <optional>
#include <vector>

#include "codegen/layers/plan_builder.hpp"

namespace nnfuse::codegen::losses {

void check_last_layer(const huber_parameters& loss, const layer_description& last);
std::optional<activation_kind> fused_activation(const huber_parameters& loss);
void rewrite_output_step(const huber_parameters& loss, step& s);
targets_binding targets(const huber_parameters& loss, const model_plan& plan);
std::vector<statement> plan_loss(const huber_parameters& loss, plan_builder& b);
statement plan_evaluation(const huber_parameters& loss, plan_builder& b);
statement plan_prediction(const huber_parameters& loss, plan_builder& b);

}  // namespace nnfuse::codegen::losses
