// The exporter's operations and folds (operations.hpp).
#include "export/operations.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>

#include <fmt/core.h>

#include "export/export.hpp"

namespace nnfuse::exporter {

using codegen::layer_description;

namespace {

std::string shape_text(const std::vector<std::uint64_t>& dims) {
    std::string text = "(";
    for (std::size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
    return text + (dims.size() == 1 ? ",)" : ")");
}

}  // namespace

// The variables of every layer, by Keras name, read and checked all at once so one message lists every defect.
std::map<std::string, std::vector<double>> read_variables(const std::vector<layer_description>& layers,
                                                          const safetensors_file& file) {
    std::map<std::string, std::vector<double>> values;
    std::vector<std::string> problems;
    for (const auto& layer : layers) {
        for (const auto& variable : layer.variables) {
            const std::vector<std::uint64_t> expected(variable.dims.begin(), variable.dims.end());
            const auto found = file.tensors().find(variable.name);
            if (found == file.tensors().end()) {
                problems.push_back(fmt::format("missing tensor `{}` (F32 {}, layer {})", variable.name,
                                               shape_text(expected), layer.name));
                continue;
            }
            const auto& tensor = found->second;
            if (tensor.dtype != "F32" || tensor.shape != expected) {
                problems.push_back(fmt::format("tensor `{}` is {} {}, the model's layer {} expects F32 {}",
                                               variable.name, tensor.dtype, shape_text(tensor.shape), layer.name,
                                               shape_text(expected)));
                continue;
            }
            const std::string_view bytes = file.data(tensor);
            std::vector<double> v(bytes.size() / 4);
            for (std::size_t i = 0; i < v.size(); ++i) {
                std::uint32_t bits = 0;
                for (int b = 3; b >= 0; --b) bits = bits << 8 | static_cast<unsigned char>(bytes[4 * i + b]);
                float f;
                std::memcpy(&f, &bits, sizeof f);
                if (!std::isfinite(f)) {
                    problems.push_back(fmt::format("tensor `{}` holds {} at index {}", variable.name, f, i));
                    break;
                }
                v[i] = f;
            }
            values[variable.name] = std::move(v);
        }
    }
    if (!problems.empty()) {
        std::string message = file.source() + ": cannot export:";
        for (std::size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : " ") + problems[i];
        throw export_error(message);
    }
    return values;
}

namespace {

const std::vector<double>* variable(const std::map<std::string, std::vector<double>>& values,
                                    const layer_description& layer, std::string_view suffix) {
    for (const auto& v : layer.variables) {
        if (v.name.size() >= suffix.size() && v.name.compare(v.name.size() - suffix.size(), suffix.size(), suffix) == 0)
            return &values.at(v.name);
    }
    return nullptr;
}

}  // namespace

bool elementwise(const op& o) {
    return o.kind == op_kind::add || o.kind == op_kind::scale_shift || o.kind == op_kind::standardize ||
           o.kind == op_kind::activation || o.kind == op_kind::softmax;
}

std::string describe_kind(const op& o) {
    const auto& g = o.window;
    const std::string window = fmt::format("{}x{} strides {}x{} {}", g.window_h, g.window_w, g.stride_h, g.stride_w,
                                           g.same_padding ? "same" : "valid");
    switch (o.kind) {
        case op_kind::affine:
            return "dense";
        case op_kind::conv2d:
            return "conv2d " + window;
        case op_kind::max_pool:
            return "max pool " + window;
        case op_kind::average_pool:
            return "average pool " + window;
        case op_kind::global_average_pool:
            return "global average pool";
        case op_kind::add:
            return "add";
        case op_kind::scale_shift:
            return "scale/shift";
        case op_kind::standardize:
            return "standardize";
        case op_kind::activation:
            return "activation";
        case op_kind::softmax:
            break;
    }
    return "softmax";
}

void check_exportable(const std::vector<layer_description>& layers) {
    for (const auto& layer : layers) {
        if (layer.as<codegen::dense_parameters>() || layer.as<codegen::batch_norm_parameters>() ||
            layer.as<codegen::activation_parameters>() || layer.as<codegen::flatten_parameters>() ||
            layer.as<codegen::reshape_parameters>() || layer.as<codegen::dropout_parameters>() ||
            layer.as<codegen::normalization_parameters>() || layer.as<codegen::conv2d_parameters>() ||
            layer.as<codegen::pool2d_parameters>() || layer.as<codegen::global_average_pool2d_parameters>() ||
            layer.as<codegen::add_parameters>()) {
            continue;
        }
        throw export_error(fmt::format(
            "cannot export layer `{}` ({}): the exporter writes Dense, Conv2D, MaxPooling2D, AveragePooling2D, "
            "GlobalAveragePooling2D, Add, BatchNormalization, Activation, Flatten, Reshape, Dropout and Normalization "
            "layers",
            layer.name, layer.keras_class));
    }
}

namespace {

// The layer whose output layer `i` reads as its input `which` (nnfuse::model_input for the model's input).
std::size_t read_by(const std::vector<layer_description>& layers, std::size_t i, std::size_t which) {
    if (!layers[i].inputs.empty()) return layers[i].inputs[which];
    return i == 0 ? nnfuse::model_input : i - 1;
}

// Layers that compute nothing in inference: their output is their input's floats.
bool passes_through(const layer_description& layer) {
    return layer.as<codegen::flatten_parameters>() != nullptr || layer.as<codegen::reshape_parameters>() != nullptr ||
           layer.as<codegen::dropout_parameters>() != nullptr;
}

}  // namespace

// The layers as operations, nothing folded yet. A batch normalization becomes its inference form.
std::vector<op> operations(const std::vector<layer_description>& layers,
                           const std::map<std::string, std::vector<double>>& values, const std::string& source) {
    // effective[i]: the layer that computes layer i's output (itself, or what a flatten/reshape/dropout passes on);
    // readers[i]: how many computing layers (and the model's output) read layer i's output through those.
    const std::size_t count = layers.size();
    std::vector<std::size_t> effective(count), readers(count, 0);
    const auto effective_of = [&](std::size_t i) { return i == nnfuse::model_input ? i : effective[i]; };
    for (std::size_t i = 0; i < count; ++i) {
        effective[i] = passes_through(layers[i]) ? effective_of(read_by(layers, i, 0)) : i;
        if (passes_through(layers[i])) continue;
        for (std::size_t w = 0; w < std::max<std::size_t>(1, layers[i].inputs.size()); ++w) {
            const std::size_t source_layer = effective_of(read_by(layers, i, w));
            if (source_layer != nnfuse::model_input) ++readers[source_layer];
        }
    }
    if (effective[count - 1] != nnfuse::model_input) ++readers[effective[count - 1]];

    std::vector<op> ops;
    std::vector<std::size_t> produced(count, model_input);  // the op id that computes each layer's output
    const auto op_of = [&](std::size_t i) { return i == nnfuse::model_input ? model_input : produced[i]; };
    std::size_t next_id = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const auto& layer = layers[i];
        op o;
        o.name = layer.name;
        o.covers = {layer.name};
        o.id = next_id;
        o.inputs = {op_of(read_by(layers, i, 0))};
        o.in = layer.in_size;
        o.out = layer.out_size;
        if (passes_through(layer)) {
            produced[i] = o.inputs[0];  // a reshape, or the identity in inference: the next op reads the same floats
            continue;
        }
        produced[i] = o.id;
        ++next_id;
        if (const auto* normalization = layer.as<codegen::normalization_parameters>()) {
            // Kept as the Net computes it, in float (no fold: a fold in double would move its results by more than
            // the Net's rounding). The denominator is exactly the kernel's: float sqrt, then the max with 1e-7f.
            o.kind = op_kind::standardize;
            o.features = normalization->features;
            o.shift = *variable(values, layer, "/mean:0");
            for (const double variance : *variable(values, layer, "/variance:0")) {
                o.scale.push_back(std::max(std::sqrt(static_cast<float>(variance)), 1e-7f));
            }
        } else if (const auto* dense = layer.as<codegen::dense_parameters>()) {
            o.kind = op_kind::affine;
            o.kernel = *variable(values, layer, "/kernel:0");
            o.bias = dense->use_bias ? *variable(values, layer, "/bias:0") : std::vector<double>(o.out, 0.0);
            if (dense->activation == activation_kind::softmax) {
                ops.push_back(o);
                o.kind = op_kind::softmax;
                o.name = layer.name + "_softmax";
                o.inputs = {o.id};
                o.id = next_id++;
                o.in = o.out;
                o.kernel.clear();
                o.bias.clear();
                produced[i] = o.id;
            } else {
                o.activation = dense->activation;
            }
        } else if (const auto* conv = layer.as<codegen::conv2d_parameters>()) {
            o.kind = op_kind::conv2d;
            o.window = conv->window;
            o.filters = conv->filters;
            o.kernel = *variable(values, layer, "/kernel:0");
            o.bias = conv->use_bias ? *variable(values, layer, "/bias:0") : std::vector<double>(o.filters, 0.0);
            o.activation = conv->activation;  // the DSL has no softmax over a feature map
        } else if (const auto* pool = layer.as<codegen::pool2d_parameters>()) {
            o.kind = pool->kind == pool_kind::max ? op_kind::max_pool : op_kind::average_pool;
            o.window = pool->window;
        } else if (const auto* global = layer.as<codegen::global_average_pool2d_parameters>()) {
            o.kind = op_kind::global_average_pool;
            o.window = {.height = global->height, .width = global->width, .channels = global->channels};
        } else if (layer.as<codegen::add_parameters>() != nullptr) {
            o.kind = op_kind::add;
            o.inputs.push_back(op_of(read_by(layers, i, 1)));
        } else if (const auto* bn = layer.as<codegen::batch_norm_parameters>()) {
            o.kind = op_kind::scale_shift;
            o.features = bn->features;
            const auto* gamma = bn->scale ? variable(values, layer, "/gamma:0") : nullptr;
            const auto* beta = bn->center ? variable(values, layer, "/beta:0") : nullptr;
            const auto& mean = *variable(values, layer, "/moving_mean:0");
            const auto& var = *variable(values, layer, "/moving_variance:0");
            for (std::size_t c = 0; c < o.features; ++c) {
                if (!(var[c] + bn->epsilon > 0.0)) {
                    throw export_error(
                        fmt::format("{}: cannot export: `{}/moving_variance:0`[{}] = {} makes "
                                    "variance + epsilon ({}) not positive",
                                    source, layer.name, c, var[c], bn->epsilon));
                }
                const double s = (gamma ? (*gamma)[c] : 1.0) / std::sqrt(var[c] + bn->epsilon);
                o.scale.push_back(s);
                o.shift.push_back((beta ? (*beta)[c] : 0.0) - mean[c] * s);
            }
        } else {
            const activation_kind activation = layer.as<codegen::activation_parameters>()->activation;
            const std::size_t producer = effective_of(read_by(layers, i, 0));
            if (activation == activation_kind::softmax) {
                o.kind = op_kind::softmax;
            } else if (producer != nnfuse::model_input && readers[producer] == 1 && !ops.empty() &&
                       ops.back().id == o.inputs[0] && ops.back().activation == activation_kind::linear &&
                       ops.back().kind != op_kind::softmax && ops.back().kind != op_kind::standardize) {
                ops.back().activation = activation;  // applied by the loop that produces its input
                ops.back().covers.push_back(layer.name);
                produced[i] = ops.back().id;
                continue;
            } else {
                o.kind = op_kind::activation;
                o.activation = activation;
            }
        }
        ops.push_back(o);
    }
    return ops;
}

namespace {

// A Conv2D's or pooling layer's window as the Net's architecture line writes it (codegen/layers/conv2d.cpp).
std::map<std::string, std::string> window_keys(const kernels::window_geometry& g, const std::string& size_key) {
    return {{size_key, fmt::format("({}, {})", g.window_h, g.window_w)},
            {"strides", fmt::format("({}, {})", g.stride_h, g.stride_w)},
            {"padding", g.same_padding ? "same" : "valid"}};
}

}  // namespace

// The checkpoint's "architecture" metadata (one line per layer, "name (Class) shape key=value ...", written by the
// generated Net) against the model's layers: a checkpoint of another model whose tensors happen to have the same
// names and shapes (another activation, BN profile or epsilon) would otherwise export silently wrong.
// Keys this code does not know are skipped, so new options in the Net's lines do not make exports fail.
void check_architecture(const std::vector<layer_description>& layers, const safetensors_file& file) {
    const auto found = file.metadata().find("architecture");
    if (found == file.metadata().end()) return;  // not written by a Net: the tensors alone are checked
    std::vector<std::string> lines;
    std::istringstream in(found->second);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    const auto fail = [&](std::size_t i, const std::string& what) {
        throw export_error(
            fmt::format("{}: cannot export: the checkpoint is of another model: its layer {} is \"{}\", "
                        "the model's {}",
                        file.source(), i + 1, i < lines.size() ? lines[i] : "(none)", what));
    };
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const auto& layer = layers[i];
        const std::string head = fmt::format("{} ({}) {}", layer.name, layer.keras_class, layer.out_shape);
        if (i >= lines.size() || lines[i].rfind(head, 0) != 0) fail(i, "starts \"" + head + "\"");
        std::map<std::string, std::string> expected;
        if (const auto* dense = layer.as<codegen::dense_parameters>()) {
            expected = {{"units", std::to_string(dense->units)},
                        {"activation", std::string(keras_name(dense->activation))},
                        {"use_bias", dense->use_bias ? "true" : "false"}};
        } else if (const auto* act = layer.as<codegen::activation_parameters>()) {
            expected = {{"activation", std::string(keras_name(act->activation))}};
        } else if (layer.as<codegen::normalization_parameters>() != nullptr) {
            expected = {{"axis", "-1"}};
        } else if (const auto* bn = layer.as<codegen::batch_norm_parameters>()) {
            expected = {{"profile", std::string(to_string(bn->profile))},
                        {"epsilon", fmt::format("{}", bn->epsilon)},
                        {"center", bn->center ? "true" : "false"},
                        {"scale", bn->scale ? "true" : "false"}};
        } else if (const auto* conv = layer.as<codegen::conv2d_parameters>()) {
            expected = window_keys(conv->window, "kernel_size");
            expected.insert({{"filters", std::to_string(conv->filters)},
                             {"activation", std::string(keras_name(conv->activation))},
                             {"use_bias", conv->use_bias ? "true" : "false"}});
        } else if (const auto* pool = layer.as<codegen::pool2d_parameters>()) {
            expected = window_keys(pool->window, "pool_size");
        }
        const std::string rest = lines[i].substr(head.size());
        for (std::size_t at = 0; at < rest.size();) {
            // The next word; a value in parentheses ("kernel_size=(3, 3)") runs to its ')'.
            std::size_t end = at;
            while (end < rest.size() && rest[end] != ' ') {
                end = rest[end] == '(' ? std::min(rest.find(')', end), rest.size() - 1) + 1 : end + 1;
            }
            const std::string word = rest.substr(at, end - at);
            at = end + 1;
            const auto equals = word.find('=');
            if (equals == std::string::npos) continue;
            const auto key = expected.find(word.substr(0, equals));
            if (key != expected.end() && word.substr(equals + 1) != key->second) {
                fail(i, fmt::format("has {}={}", key->first, key->second));
            }
        }
    }
    if (lines.size() != layers.size()) fail(layers.size(), fmt::format("has {} layers", layers.size()));
}

}  // namespace nnfuse::exporter
