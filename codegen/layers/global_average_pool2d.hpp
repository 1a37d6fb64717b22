// nnfuse::codegen::layers, global_average_pool2d: the generator's module for GlobalAveragePooling2D layers (the
// interface: layer_module.hpp).
#pragma once

#include <optional>
#include <string>

#include "codegen/layers/plan_builder.hpp"

namespace nnfuse::codegen::layers {

bool makes_step(const global_average_pool2d_parameters& layer);
std::optional<activation_kind> element_wise_activation(const global_average_pool2d_parameters& layer);
bool absorbs_activation(const global_average_pool2d_parameters& layer);
bool passes_gradient_back(const global_average_pool2d_parameters& layer);
void init_step(const global_average_pool2d_parameters& layer, step& s);
void plan_training(const global_average_pool2d_parameters& layer, const step& s, plan_builder& b);
void plan_inference(const global_average_pool2d_parameters& layer, const step& s, plan_builder& b);
std::string hyper_parameters(const global_average_pool2d_parameters& layer);

}  // namespace nnfuse::codegen::layers
