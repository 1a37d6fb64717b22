// Flatten is a reshape of the same memory: no step, no kernel, no storage.
#include "codegen/layers/flatten.hpp"

namespace nnfuse::codegen::layers {

bool makes_step(const flatten_parameters&) { return false; }
std::optional<activation_kind> element_wise_activation(const flatten_parameters&) { return std::nullopt; }
bool absorbs_activation(const flatten_parameters&) { return false; }
bool passes_gradient_back(const flatten_parameters&) { return true; }
void init_step(const flatten_parameters&, step&) {}
void plan_training(const flatten_parameters&, const step&, plan_builder&) {}
void plan_inference(const flatten_parameters&, const step&, plan_builder&) {}
std::string hyper_parameters(const flatten_parameters&) { return {}; }

}  // namespace nnfuse::codegen::layers
