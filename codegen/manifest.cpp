#include "codegen/manifest.hpp"

#include <fmt/core.h>

#include "codegen/layers/layer_module.hpp"

namespace nnfuse::codegen {

namespace {

std::string joined(const std::vector<storage>& list) {
    std::string text;
    for (const auto& s : list) text += (text.empty() ? "" : ", ") + s.name;
    return text.empty() ? "-" : text;
}

std::string statement_line(const model_plan& plan, const statement& s) {
    static constexpr const char* phases[] = {"per chunk", "whole batch", "task"};
    std::string what = "check";
    if (const auto* c = std::get_if<call>(&s.action)) {
        what = "`" + (c->kernel ? plan.kernels[*c->kernel].name : c->signature->function) + "`";
    } else if (std::holds_alternative<begin_step>(s.action)) {
        what = "per-thread copies stale";
    } else if (std::holds_alternative<reset_chunk_result>(s.action)) {
        what = "chunk result reset";
    }
    std::string line = fmt::format("[{}] {}: {}; {} -> {}", phases[static_cast<int>(s.when)], s.id, what,
                                   joined(s.inputs()), joined(s.outputs()));
    for (const reduction& r : s.merges) line += fmt::format("; merge {} into {}", r.partials.name, r.total.name);
    return line;
}

}  // namespace

std::string manifest(const std::string& model, const std::string& banner, const std::vector<layer_description>& layers,
                     const model_plan& plan) {
    std::string text = fmt::format("# {} — generated kernels\n\n{}\n\nLayers: ", model, banner);
    for (const auto& layer : layers)
        text += fmt::format("{} ({}) {}; ", layer.name, layer.keras_class, layer.out_shape);
    text += fmt::format("\n\nLoss: {} on {} targets ({} per sample); metric: {}", plan.loss.keras_name,
                        plan.loss.target == target_kind::class_id ? "class id" : "float", plan.loss.targets_per_sample,
                        plan.loss.metric_name);
    text += "\n\n| kernel | shapes | layers | what it does, fused, and why |\n|---|---|---|---|\n";
    for (const auto& k : plan.kernels)
        text += fmt::format("| `{}` | {} | {} | {} |\n", k.name, k.shapes, k.layers, k.why);
    text += "\nDecisions without a kernel:\n";
    for (const auto& note : plan.notes) text += "- " + note + "\n";
    text += "\ntrain_batch as planned (phase, statement, call; storage read -> written; merges after the phase):\n\n";
    for (const statement& s : plan.train_batch) text += "- " + statement_line(plan, s) + "\n";
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
