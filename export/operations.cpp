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

void check_exportable(const std::vector<layer_description>& layers) {
    for (const auto& layer : layers) {
        if (layer.as<codegen::dense_parameters>() || layer.as<codegen::batch_norm_parameters>() ||
            layer.as<codegen::activation_parameters>() || layer.as<codegen::flatten_parameters>() ||
            layer.as<codegen::reshape_parameters>() || layer.as<codegen::dropout_parameters>() ||
            layer.as<codegen::normalization_parameters>()) {
            continue;
        }
        throw export_error(fmt::format(
            "cannot export layer `{}` ({}): the exporter writes Dense, BatchNormalization, Activation, Flatten, "
            "Reshape, Dropout and Normalization layers; convolutional and residual models are not exported yet",
            layer.name, layer.keras_class));
    }
}

// The layers as operations, nothing folded yet. A batch normalization becomes its inference form.
std::vector<op> operations(const std::vector<layer_description>& layers,
                           const std::map<std::string, std::vector<double>>& values, const std::string& source) {
    std::vector<op> ops;
    for (const auto& layer : layers) {
        op o;
        o.name = layer.name;
        o.covers = {layer.name};
        o.in = layer.in_size;
        o.out = layer.out_size;
        if (layer.as<codegen::flatten_parameters>() != nullptr || layer.as<codegen::reshape_parameters>() != nullptr) {
            continue;  // a reshape: the next operation reads the same floats
        }
        if (layer.as<codegen::dropout_parameters>() != nullptr) {
            continue;  // the identity in inference
        }
        if (const auto* normalization = layer.as<codegen::normalization_parameters>()) {
            // Kept as the Net computes it, in float (no fold: a fold in double would move its results by more than
            // the Net's rounding). The denominator is exactly the kernel's: float sqrt, then the max with 1e-7f.
            o.kind = op_kind::standardize;
            o.features = normalization->features;
            o.shift = *variable(values, layer, "/mean:0");
            for (const double variance : *variable(values, layer, "/variance:0")) {
                o.scale.push_back(std::max(std::sqrt(static_cast<float>(variance)), 1e-7f));
            }
            ops.push_back(o);
            continue;
        }
        if (const auto* dense = layer.as<codegen::dense_parameters>()) {
            o.kind = op_kind::affine;
            o.kernel = *variable(values, layer, "/kernel:0");
            o.bias = dense->use_bias ? *variable(values, layer, "/bias:0") : std::vector<double>(o.out, 0.0);
            ops.push_back(o);
            if (dense->activation == activation_kind::softmax) {
                op softmax;
                softmax.kind = op_kind::softmax;
                softmax.name = layer.name + "_softmax";
                softmax.covers = {layer.name};
                softmax.in = softmax.out = o.out;
                ops.push_back(softmax);
            } else {
                ops.back().activation = dense->activation;
            }
            continue;
        }
        if (const auto* bn = layer.as<codegen::batch_norm_parameters>()) {
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
            ops.push_back(o);
            continue;
        }
        const activation_kind activation = layer.as<codegen::activation_parameters>()->activation;
        if (activation == activation_kind::softmax) {
            o.kind = op_kind::softmax;
        } else if (!ops.empty() && ops.back().kind != op_kind::softmax &&
                   ops.back().activation == activation_kind::linear && ops.back().kind != op_kind::activation) {
            ops.back().activation = activation;  // applied by the loop that produces its input
            ops.back().covers.push_back(layer.name);
            continue;
        } else {
            o.kind = op_kind::activation;
            o.activation = activation;
        }
        ops.push_back(o);
    }
    return ops;
}

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
        }
        std::istringstream words(lines[i].substr(head.size()));
        for (std::string word; words >> word;) {
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

namespace {

bool linear_scale_shift(const op& o) {
    return o.kind == op_kind::scale_shift && o.activation == activation_kind::linear;
}

}  // namespace

std::string join(const std::vector<std::string>& names) {
    std::string text;
    for (std::size_t i = 0; i < names.size(); ++i) text += (i ? " + " : "") + names[i];
    return text;
}

// Folds until nothing folds; each fold removes one operation and says what it did in `folded`.
void fold(std::vector<op>& ops, std::vector<std::string>& folded) {
    for (bool changed = true; changed;) {
        changed = false;
        for (std::size_t k = 0; k + 1 < ops.size() && !changed; ++k) {
            op& a = ops[k];
            op& b = ops[k + 1];
            if (a.kind == op_kind::affine && a.activation == activation_kind::linear &&
                b.kind == op_kind::scale_shift && b.features == a.out) {
                // dense -> BN: y = (x.K + bias) * s + t, so K's column j and bias[j] are scaled by s[j], plus t[j].
                for (std::size_t i = 0; i < a.in; ++i)
                    for (std::size_t j = 0; j < a.out; ++j) a.kernel[i * a.out + j] *= b.scale[j];
                for (std::size_t j = 0; j < a.out; ++j) a.bias[j] = a.bias[j] * b.scale[j] + b.shift[j];
                a.activation = b.activation;
                folded.push_back(fmt::format("{} into the columns and bias of {}{}", b.covers.front(), join(a.covers),
                                             b.activation == activation_kind::linear
                                                 ? std::string()
                                                 : fmt::format(", which then applies {}", keras_name(b.activation))));
                a.covers.insert(a.covers.end(), b.covers.begin(), b.covers.end());
            } else if (linear_scale_shift(a) && b.kind == op_kind::scale_shift &&
                       (a.features == 1 || (a.features == b.features && a.in == b.in))) {
                // Two scale/shifts (the input scale, a feature-wise scale of 1): s = sa * sb, t = ta * sb + tb.
                const std::size_t c_count = b.features;
                for (std::size_t c = 0; c < c_count; ++c) {
                    const std::size_t ca = a.features == 1 ? 0 : c;
                    b.shift[c] += a.shift[ca] * b.scale[c];
                    b.scale[c] *= a.scale[ca];
                }
                folded.push_back(fmt::format("{} into {}", join(a.covers), join(b.covers)));
                b.covers.insert(b.covers.begin(), a.covers.begin(), a.covers.end());
                b.name = a.name;
                std::swap(a, b);
            } else if (linear_scale_shift(a) && b.kind == op_kind::affine && b.in % a.features == 0) {
                // BN -> dense: (x * s + t).K + bias = x.(s (.) K) + (bias + t.K): K's row i scaled by s[i % C].
                for (std::size_t j = 0; j < b.out; ++j) {
                    double sum = 0.0;
                    for (std::size_t i = 0; i < b.in; ++i) sum += a.shift[i % a.features] * b.kernel[i * b.out + j];
                    b.bias[j] += sum;
                }
                for (std::size_t i = 0; i < b.in; ++i)
                    for (std::size_t j = 0; j < b.out; ++j) b.kernel[i * b.out + j] *= a.scale[i % a.features];
                folded.push_back(fmt::format("{} into the rows and bias of {}", join(a.covers), join(b.covers)));
                b.covers.insert(b.covers.begin(), a.covers.begin(), a.covers.end());
                std::swap(a, b);
            } else {
                continue;
            }
            ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(k) + 1);
            changed = true;
        }
    }
}

}  // namespace nnfuse::exporter
