// nnfuse::codegen::layers, pool2d: the generator's module for MaxPooling2D and AveragePooling2D layers (the interface:
// layer_module.hpp).
#pragma once

#include <optional>
#include <string>

#include "codegen/layers/plan_builder.hpp"

namespace nnfuse::codegen::layers {

bool makes_step(const pool2d_parameters& layer);
std::optional<activation_kind> element_wise_activation(const pool2d_parameters& layer);
bool absorbs_activation(const pool2d_parameters& layer);
bool passes_gradient_back(const pool2d_parameters& layer);
void init_step(const pool2d_parameters& layer, step& s);
void plan_training(const pool2d_parameters& layer, const step& s, plan_builder& b);
void plan_inference(const pool2d_parameters& layer, const step& s, plan_builder& b);
std::string hyper_parameters(const pool2d_parameters& layer);

// Whether `bn` may be applied by `pool`, the step after it reading its output, in training (pooling_bn_input-inl.h):
// a trainable batch_norm with its own normalize pass (not folded into a dense layer) over the pool's channels, an
// element-wise activation; a max pool (an average would need the normalized sums, not a comparison). The caller checks
// that nothing else reads the BN's output.
bool applied_by_next_max_pool(const step& bn, const step& pool);

}  // namespace nnfuse::codegen::layers
