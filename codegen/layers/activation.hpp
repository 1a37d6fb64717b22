// nnfuse::codegen::layers, activation: the generator's module for activation layers (the interface: layer_module.hpp).
#pragma once

#include <optional>
#include <string>

#include "codegen/layers/plan_builder.hpp"

namespace nnfuse::codegen::layers {

bool makes_step(const activation_parameters& layer);
std::optional<activation_kind> element_wise_activation(const activation_parameters& layer);
bool absorbs_activation(const activation_parameters& layer);
bool passes_gradient_back(const activation_parameters& layer);
void init_step(const activation_parameters& layer, step& s);
void plan_training(const activation_parameters& layer, const step& s, plan_builder& b);
void plan_inference(const activation_parameters& layer, const step& s, plan_builder& b);
std::string hyper_parameters(const activation_parameters& layer);

}  // namespace nnfuse::codegen::layers
