// Reshape, like flatten, gives the same memory another sample shape: no step, no kernel, no storage.
#include "codegen/layers/reshape.hpp"

#include <fmt/core.h>

namespace nnfuse::codegen::layers {

bool makes_step(const reshape_parameters&) { return false; }
std::optional<activation_kind> element_wise_activation(const reshape_parameters&) { return std::nullopt; }
bool absorbs_activation(const reshape_parameters&) { return false; }
bool passes_gradient_back(const reshape_parameters&) { return true; }
void init_step(const reshape_parameters&, step&) {}
void plan_training(const reshape_parameters&, const step&, plan_builder&) {}
void plan_inference(const reshape_parameters&, const step&, plan_builder&) {}
std::string hyper_parameters(const reshape_parameters& layer) {
    std::string dims;
    for (const std::size_t d : layer.target_shape) dims += fmt::format("{}{}", dims.empty() ? "" : ", ", d);
    return fmt::format(" target_shape=({}{})", dims, layer.target_shape.size() == 1 ? "," : "");
}

}  // namespace nnfuse::codegen::layers
