// nnfuse::codegen::layers, flatten: the generator's module for flatten layers (the interface: layer_module.hpp).
#pragma once

#include <optional>
#include <string>

#include "codegen/layers/plan_builder.hpp"

namespace nnfuse::codegen::layers {

bool makes_step(const flatten_parameters& layer);
std::optional<activation_kind> element_wise_activation(const flatten_parameters& layer);
bool absorbs_activation(const flatten_parameters& layer);
bool passes_gradient_back(const flatten_parameters& layer);
void init_step(const flatten_parameters& layer, step& s);
void plan_training(const flatten_parameters& layer, const step& s, plan_builder& b);
void plan_inference(const flatten_parameters& layer, const step& s, plan_builder& b);
std::string hyper_parameters(const flatten_parameters& layer);

}  // namespace nnfuse::codegen::layers
