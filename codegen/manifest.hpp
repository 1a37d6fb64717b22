// nnfuse::codegen manifest: the generated kernels, what each does and why, and the plan's decisions that are no
// kernel, as Markdown (<model>.manifest.md); and the declared layers for Net::architecture().
#pragma once

#include <string>
#include <vector>

#include "codegen/model_description.hpp"
#include "codegen/plan.hpp"

namespace nnfuse::codegen {

std::string manifest(const std::string& model, const std::string& banner, const std::vector<layer_description>& layers,
                     const model_plan& plan);
// The declared layers as the body of a C++ string literal expression, one line per layer.
std::string architecture(const std::vector<layer_description>& layers);

}  // namespace nnfuse::codegen
