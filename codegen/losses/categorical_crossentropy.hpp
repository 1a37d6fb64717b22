// nnfuse::codegen::losses, categorical_crossentropy: the generator's module for this loss (the interface:
// loss_module.hpp).
#pragma once

#include <optional>
#include <vector>

#include "codegen/layers/plan_builder.hpp"

namespace nnfuse::codegen::losses {

void check_last_layer(const categorical_crossentropy_parameters& loss, const layer_description& last);
std::optional<activation_kind> fused_activation(const categorical_crossentropy_parameters& loss);
void rewrite_output_step(const categorical_crossentropy_parameters& loss, step& s);
targets_binding targets(const categorical_crossentropy_parameters& loss, const model_plan& plan);
std::vector<statement> plan_loss(const categorical_crossentropy_parameters& loss, plan_builder& b);
statement plan_evaluation(const categorical_crossentropy_parameters& loss, plan_builder& b);
statement plan_prediction(const categorical_crossentropy_parameters& loss, plan_builder& b);

}  // namespace nnfuse::codegen::losses
