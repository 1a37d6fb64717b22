// The exporter: reads the model's variables from a checkpoint, turns the layers into a short list of operations
// (operations.hpp), folds what it can in double (folds.cpp), places the steps' outputs in one scratch buffer, and
// prints the header (export.hpp; the steps' code: steps.cpp).
#include "export/export.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

#include <fmt/core.h>

#include "export/operations.hpp"
#include "export/steps.hpp"
#include "runtime/checkpoint/atomic_file.hpp"

namespace nnfuse::exporter {
namespace {

using codegen::layer_description;

void check_namespace(const std::string& ns) {
    bool ok = !ns.empty();
    std::size_t start = 0;
    while (ok) {
        const std::size_t end = ns.find("::", start);
        const std::string part = ns.substr(start, end == std::string::npos ? std::string::npos : end - start);
        ok = !part.empty() && !std::isdigit(static_cast<unsigned char>(part[0])) &&
             std::all_of(part.begin(), part.end(),
                         [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; });
        if (end == std::string::npos) break;
        start = end + 2;
    }
    if (!ok) throw export_error(fmt::format("namespace '{}' is not a C++ identifier (or a::b of them)", ns));
}

// Where each step writes. The last writes predict's out; the others a slot of scratch, block_rows samples wide. A
// slot is reused once nothing reads its value any more; an element-wise step writes over the input it reads last.
struct storage_plan {
    std::vector<std::size_t> slot;          // per op but the last
    std::vector<std::size_t> slot_offsets;  // per slot, in floats
    std::size_t block_rows = 1, scratch_floats = 1;
};

// "784 -> 20", or for a step over feature maps "28x28x1 -> 28x28x32" (height x width x channels).
std::string sizes_text(const op& o) {
    const auto& g = o.window;
    switch (o.kind) {
        case op_kind::conv2d:
        case op_kind::max_pool:
        case op_kind::average_pool:
            return fmt::format("{}x{}x{} -> {}x{}x{}", g.height, g.width, g.channels, g.out_height(), g.out_width(),
                               o.kind == op_kind::conv2d ? o.filters : g.channels);
        case op_kind::global_average_pool:
            return fmt::format("{}x{}x{} -> {}", g.height, g.width, g.channels, g.channels);
        default:
            return fmt::format("{} -> {}", o.in, o.out);
    }
}

// The largest scratch predict(x, rows, out) keeps on its stack.
constexpr std::size_t stack_bytes = 256 * 1024;

storage_plan plan_storage(const std::vector<op>& ops) {
    std::map<std::size_t, std::size_t> position;
    for (std::size_t k = 0; k < ops.size(); ++k) position[ops[k].id] = k;
    std::vector<std::size_t> last_read(ops.size(), 0);
    for (std::size_t k = 0; k < ops.size(); ++k) {
        for (const std::size_t id : ops[k].inputs)
            if (id != model_input) last_read[position.at(id)] = k;
    }
    storage_plan plan;
    plan.slot.assign(ops.size(), 0);
    std::vector<std::size_t> slot_floats;
    std::vector<bool> busy;
    for (std::size_t k = 0; k + 1 < ops.size(); ++k) {
        std::size_t chosen = slot_floats.size();
        for (const std::size_t id : ops[k].inputs) {
            if (elementwise(ops[k]) && id != model_input && last_read[position.at(id)] == k) {
                chosen = plan.slot[position.at(id)];
                break;
            }
        }
        if (chosen == slot_floats.size())
            chosen = static_cast<std::size_t>(std::find(busy.begin(), busy.end(), false) - busy.begin());
        if (chosen == slot_floats.size()) {
            slot_floats.push_back(0);
            busy.push_back(false);
        }
        busy[chosen] = true;
        slot_floats[chosen] = std::max(slot_floats[chosen], ops[k].out);
        plan.slot[k] = chosen;
        for (const std::size_t id : ops[k].inputs) {
            if (id != model_input && last_read[position.at(id)] == k && plan.slot[position.at(id)] != chosen)
                busy[plan.slot[position.at(id)]] = false;
        }
    }
    std::size_t per_sample = 0;
    for (const std::size_t floats : slot_floats) per_sample += floats;
    // Four samples at a time when they fit on the stack, else one.
    plan.block_rows = 4 * per_sample * sizeof(float) <= stack_bytes ? 4 : 1;
    std::size_t total = 0;
    for (const std::size_t floats : slot_floats) {
        plan.slot_offsets.push_back(total);
        total += plan.block_rows * floats;
    }
    plan.scratch_floats = std::max<std::size_t>(1, total);  // an array of 0 floats is not C++
    return plan;
}

}  // namespace

std::string export_header(const std::vector<layer_description>& layers, const safetensors_file& checkpoint,
                          const export_options& options) {
    check_namespace(options.ns);
    if (!std::isfinite(options.input_scale) || options.input_scale == 0.0) {
        throw export_error(fmt::format("input scale {} is not a finite non-zero number", options.input_scale));
    }
    if (layers.empty()) throw export_error("the model has no layers");
    check_exportable(layers);
    check_architecture(layers, checkpoint);
    const auto values = read_variables(layers, checkpoint);
    auto ops = operations(layers, values, checkpoint.source());
    const std::size_t input_size = layers.front().in_size, output_size = layers.back().out_size;
    std::vector<std::string> folded;
    if (options.input_scale != 1.0) {
        // A scale/shift reading x that every op reading x now reads instead.
        op scale;
        scale.kind = op_kind::scale_shift;
        scale.name = "input_scale";
        scale.covers = {fmt::format("input scale {}", options.input_scale)};
        scale.id = ops.empty() ? 0 : ops.back().id + 1;
        scale.inputs = {model_input};
        scale.in = scale.out = input_size;
        scale.features = 1;
        scale.scale = {options.input_scale};
        scale.shift = {0.0};
        for (auto& o : ops) std::replace(o.inputs.begin(), o.inputs.end(), model_input, scale.id);
        ops.insert(ops.begin(), scale);
    }
    fold(ops, folded);
    const storage_plan storage = plan_storage(ops);
    std::map<std::size_t, std::size_t> position;
    for (std::size_t k = 0; k < ops.size(); ++k) position[ops[k].id] = k;

    std::string text;
    text += "// Generated by nnfuse-export: a trained nnfuse model as a dependency-free C++17 inference function.\n";
    text += fmt::format("// Model: {} ({})\n// Weights: {}", options.model_expression, options.model_header,
                        options.checkpoint_name);
    if (const auto m = checkpoint.metadata().find("model"); m != checkpoint.metadata().end())
        text += fmt::format(" (model \"{}\")", m->second);
    text += ".\n//\n// Layers:\n";
    for (const auto& layer : layers) {
        text += fmt::format("//   {} ({}) {}", layer.name, layer.keras_class, layer.out_shape);
        if (layer.as<codegen::dense_parameters>() || layer.as<codegen::activation_parameters>() ||
            layer.as<codegen::conv2d_parameters>())
            text += fmt::format(" activation={}", keras_name(layer.activation()));
        if (const auto* bn = layer.as<codegen::batch_norm_parameters>())
            text += fmt::format(" epsilon={}", bn->epsilon);
        text += "\n";
    }
    text +=
        "//\n// Folded (in double, stored as float; batch normalization in its inference form\n"
        "// s = gamma / sqrt(moving_variance + epsilon), t = beta - moving_mean * s):\n";
    if (folded.empty()) text += "//   nothing\n";
    for (const auto& f : folded) text += "//   " + f + "\n";
    text += "// Computed, per sample:\n";
    for (const auto& o : ops) {
        text += fmt::format("//   {} {}: {}", describe_kind(o), sizes_text(o), join(o.covers));
        if (o.activation != activation_kind::linear) text += fmt::format(", {} fused", keras_name(o.activation));
        if (o.kind == op_kind::add) {
            std::vector<std::string> read;
            for (const std::size_t id : o.inputs)
                read.push_back(id == model_input ? "x" : ops[position.at(id)].covers.back());
            text += " (the sum of " + join(read) + ")";
        }
        text += "\n";
    }
    const bool on_stack = storage.scratch_floats * sizeof(float) <= stack_bytes;
    text += fmt::format(
        "//\n// predict(x, rows, out[, scratch]): x holds rows * input_size floats{},\n"
        "// out receives rows * output_size floats. Sums are accumulated in double. No allocation: the steps'\n"
        "// outputs live in scratch, scratch_floats floats ({} at a time; a sample's result does not depend on the\n"
        "// others), {}.\n"
        "// Only the C++17 standard library: g++ -std=c++17 compiles it as is.\n",
        options.input_scale != 1.0 ? std::string(" (unscaled: input_scale is applied inside)") : "",
        storage.block_rows == 1 ? std::string("one sample") : fmt::format("{} samples", storage.block_rows),
        on_stack ? "a stack array of predict(x, rows, out), or the caller's"
                 : fmt::format("the caller's: more than {} KiB, so there is no predict(x, rows, out) with a stack "
                               "array",
                               stack_bytes / 1024));
    text += "#pragma once\n\n#include <cmath>\n#include <cstddef>\n\n";
    text += fmt::format("namespace {} {{\n\n", options.ns);
    text += fmt::format("constexpr std::size_t input_size = {};\nconstexpr std::size_t output_size = {};\n", input_size,
                        output_size);
    char scale_text[64];
    std::snprintf(scale_text, sizeof scale_text, "%a", options.input_scale);
    text += fmt::format(
        "// predict's input is multiplied by this (folded into the weights: {:.17g}).\n"
        "constexpr double input_scale = {};\n",
        options.input_scale, scale_text);
    text += fmt::format("// The floats predict's scratch holds (the steps' outputs that are alive together, {} {}).\n",
                        storage.block_rows, storage.block_rows == 1 ? "sample" : "samples");
    text += fmt::format("constexpr std::size_t scratch_floats = {};\n\n", storage.scratch_floats);
    text += "namespace detail {\n\n";
    text += fmt::format(
        "// Samples computed together: a dense step reads each weight once per block.\n"
        "constexpr std::size_t block_rows = {};\n\n",
        storage.block_rows);
    text += helper_definitions(ops);
    for (std::size_t k = 0; k < ops.size(); ++k) {
        text += "\n" + step_definition(ops[k], fmt::format("step{}_{}", k, ops[k].name));
    }
    text += "\n}  // namespace detail\n\n";
    text +=
        "// requires: x holds rows * input_size floats, out rows * output_size floats, not overlapping x; scratch\n"
        "//           scratch_floats floats (any alignment), overlapping neither.\n";
    text += "inline void predict(const float* x, std::size_t rows, float* out, float* scratch) {\n";
    if (storage.slot_offsets.empty()) text += "    (void)scratch;\n";
    text += "    for (std::size_t r = 0; r < rows; r += detail::block_rows) {\n";
    text += "        const std::size_t n = rows - r < detail::block_rows ? rows - r : detail::block_rows;\n";
    text += "        const float* in = x + r * input_size;\n";
    text += "        float* y = out + r * output_size;\n";
    // Each step reads its inputs' slots and writes its own (the last step: the caller's rows).
    const auto where = [&](std::size_t k) {
        if (k + 1 == ops.size()) return std::string("y");
        const std::size_t offset = storage.slot_offsets[storage.slot[k]];
        return offset == 0 ? std::string("scratch") : fmt::format("scratch + {}", offset);
    };
    for (std::size_t k = 0; k < ops.size(); ++k) {
        std::string arguments;
        for (const std::size_t id : ops[k].inputs)
            arguments += (id == model_input ? "in" : where(position.at(id))) + ", ";
        text += fmt::format("        detail::step{}_{}({}n, {});\n", k, ops[k].name, arguments, where(k));
    }
    if (ops.empty()) text += "        for (std::size_t i = 0; i < n * output_size; ++i) y[i] = in[i];\n";
    text += "    }\n}\n\n";
    if (on_stack) {
        text += "// predict with scratch on the stack (scratch_floats floats).\n";
        text += "inline void predict(const float* x, std::size_t rows, float* out) {\n";
        text += "    float scratch[scratch_floats];\n";
        text += "    predict(x, rows, out, scratch);\n";
        text += "}\n\n";
    }
    text += fmt::format("}}  // namespace {}\n", options.ns);
    return text;
}

void export_checkpoint(const std::vector<layer_description>& layers, const std::filesystem::path& checkpoint,
                       const std::filesystem::path& out, const export_options& options) {
    const safetensors_file file = read_safetensors(checkpoint);
    export_options with_name = options;
    if (with_name.checkpoint_name.empty()) with_name.checkpoint_name = checkpoint.filename().string();
    write_file_atomically(out, export_header(layers, file, with_name));
}

}  // namespace nnfuse::exporter
