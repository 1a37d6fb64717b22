// nnfuse::codegen::layers, add: the generator's module for Keras's Add joining a residual block (the interface:
// layer_module.hpp). Its step reads two buffers: step::in (the block's output) and step::skip_in (the residual's
// input x); the plan gives the block's output the Add's own gradient storage (plan.cpp), so dy reaches the block
// without a statement, and this module sums dy into x's gradient after the block formed its share.
#pragma once

#include <optional>
#include <string>

#include "codegen/layers/plan_builder.hpp"

namespace nnfuse::codegen::layers {

bool makes_step(const add_parameters& layer);
std::optional<activation_kind> element_wise_activation(const add_parameters& layer);
bool absorbs_activation(const add_parameters& layer);
bool passes_gradient_back(const add_parameters& layer);
void init_step(const add_parameters& layer, step& s);
void plan_training(const add_parameters& layer, const step& s, plan_builder& b);
void plan_inference(const add_parameters& layer, const step& s, plan_builder& b);
std::string hyper_parameters(const add_parameters& layer);

}  // namespace nnfuse::codegen::layers
