#include "codegen/manifest.hpp"

#include <fmt/core.h>

#include "codegen/layers/layer_module.hpp"

namespace nnfuse::codegen {

std::string manifest(const std::string& model, const std::string& banner, const std::vector<layer_description>& layers,
                     const model_plan& plan) {
    std::string text = fmt::format("# {} — generated kernels\n\n{}\n\nLayers: ", model, banner);
    for (const auto& layer : layers)
        text += fmt::format("{} ({}) {}; ", layer.name, layer.keras_class, layer.out_shape);
    text += "\n\n| kernel | shapes | layers | what it does, fused, and why |\n|---|---|---|---|\n";
    for (const auto& k : plan.kernels)
        text += fmt::format("| `{}` | {} | {} | {} |\n", k.name, k.shapes, k.layers, k.why);
    text += "\nDecisions without a kernel:\n";
    for (const auto& note : plan.notes) text += "- " + note + "\n";
    return text;
}

std::string architecture(const std::vector<layer_description>& layers) {
    std::string text;
    for (const auto& layer : layers) {
        const std::string line =
            fmt::format("{} ({}) {}", layer.name, layer.keras_class, layer.out_shape) +
            std::visit([](const auto& p) { return layers::hyper_parameters(p); }, layer.parameters);
        text += fmt::format("\n        \"{}\\n\"", line);
    }
    return text.substr(std::string("\n        ").size());
}

}  // namespace nnfuse::codegen
