// nnfuse::codegen::layers, reshape: the generator's module for Reshape layers (the interface: layer_module.hpp).
#pragma once

#include <optional>
#include <string>

#include "codegen/layers/plan_builder.hpp"

namespace nnfuse::codegen::layers {

bool makes_step(const reshape_parameters& layer);
std::optional<activation_kind> element_wise_activation(const reshape_parameters& layer);
bool absorbs_activation(const reshape_parameters& layer);
bool passes_gradient_back(const reshape_parameters& layer);
void init_step(const reshape_parameters& layer, step& s);
void plan_training(const reshape_parameters& layer, const step& s, plan_builder& b);
void plan_inference(const reshape_parameters& layer, const step& s, plan_builder& b);
std::string hyper_parameters(const reshape_parameters& layer);

}  // namespace nnfuse::codegen::layers
