// nnfuse::codegen::layers, dense: the generator's module for dense layers (the interface: layer_module.hpp).
#pragma once

#include <optional>
#include <string>

#include "codegen/layers/plan_builder.hpp"

namespace nnfuse::codegen::layers {

bool makes_step(const dense_parameters& layer);
std::optional<activation_kind> element_wise_activation(const dense_parameters& layer);
bool absorbs_activation(const dense_parameters& layer);
bool passes_gradient_back(const dense_parameters& layer);
void init_step(const dense_parameters& layer, step& s);
void plan_training(const dense_parameters& layer, const step& s, plan_builder& b);
void plan_inference(const dense_parameters& layer, const step& s, plan_builder& b);
std::string hyper_parameters(const dense_parameters& layer);

}  // namespace nnfuse::codegen::layers
