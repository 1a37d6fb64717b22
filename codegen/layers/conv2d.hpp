// nnfuse::codegen::layers, conv2d: the generator's module for Conv2D layers (the interface: layer_module.hpp).
#pragma once

#include <optional>
#include <string>

#include "codegen/layers/plan_builder.hpp"

namespace nnfuse::codegen::layers {

bool makes_step(const conv2d_parameters& layer);
std::optional<activation_kind> element_wise_activation(const conv2d_parameters& layer);
bool absorbs_activation(const conv2d_parameters& layer);
bool passes_gradient_back(const conv2d_parameters& layer);
void init_step(const conv2d_parameters& layer, step& s);
void plan_training(const conv2d_parameters& layer, const step& s, plan_builder& b);
void plan_inference(const conv2d_parameters& layer, const step& s, plan_builder& b);
std::string hyper_parameters(const conv2d_parameters& layer);

// The name a kernel's geometry has in its wrapper (its template argument), and the wrapper's declaration of it
// (kernel::locals): "constexpr nnfuse::kernels::window_geometry window{.height = 28, ...};".
inline constexpr const char* window_name = "window";
std::string window_declaration(const kernels::window_geometry& g);
// "h28w28c1_k3x3_s2_same": a window's part of a kernel's name (stride 1 and valid padding unsaid).
std::string window_suffix(const kernels::window_geometry& g);
// The forward kernel of `layer` with the given activation and bias (a folded BN's may differ from the layer's own).
std::size_t conv2d_forward_kernel(const conv2d_parameters& layer, activation_kind activation, bool use_bias,
                                  const std::string& covers, const std::string& why, plan_builder& b);
// The step's forward call: its own kernel and bias, from its input buffer to its output buffer.
call conv2d_forward_call(const conv2d_parameters& layer, const step& s, plan_builder& b);

}  // namespace nnfuse::codegen::layers
