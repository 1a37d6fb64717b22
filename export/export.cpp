// The exporter: reads the model's variables from a checkpoint, turns the layers into a short list of operations
// (affine, scale/shift, activation, softmax), folds what it can in double, and prints the header (export.hpp).
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

#include "runtime/checkpoint/atomic_file.hpp"

namespace nnfuse::exporter {
namespace {

using codegen::layer_description;

enum class op_kind { affine, scale_shift, activation, softmax };

// One operation of predict, per sample. Values in double until they are printed.
struct op {
    op_kind kind = op_kind::affine;
    std::string name;  // a C++ identifier, from the first layer it computes
    std::vector<std::string> covers;
    std::size_t in = 0, out = 0;  // floats per sample
    activation_kind activation = activation_kind::linear;
    // affine: out[j] = act(bias[j] + sum_i in[i] * kernel[i * out + j]) (Keras's (inputs, units) layout)
    std::vector<double> kernel, bias;
    // scale_shift: out[r * features + c] = act(in[r * features + c] * scale[c] + shift[c])
    std::size_t features = 0;
    std::vector<double> scale, shift;
};

std::string shape_text(const std::vector<std::uint64_t>& dims) {
    std::string text = "(";
    for (std::size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
    return text + (dims.size() == 1 ? ",)" : ")");
}

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

const std::vector<double>* variable(const std::map<std::string, std::vector<double>>& values,
                                    const layer_description& layer, std::string_view suffix) {
    for (const auto& v : layer.variables) {
        if (v.name.size() >= suffix.size() && v.name.compare(v.name.size() - suffix.size(), suffix.size(), suffix) == 0)
            return &values.at(v.name);
    }
    return nullptr;
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
        if (layer.as<codegen::flatten_parameters>() != nullptr) {
            continue;  // a reshape: the next operation reads the same floats
        }
        if (layer.as<codegen::dropout_parameters>() != nullptr) {
            continue;  // the identity in inference
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

bool linear_scale_shift(const op& o) {
    return o.kind == op_kind::scale_shift && o.activation == activation_kind::linear;
}

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

std::string float_literal(double value) {
    char text[64];
    std::snprintf(text, sizeof text, "%af", static_cast<double>(static_cast<float>(value)));
    return text;
}

// A constant array of floats, 6 literals a line.
std::string array_text(const std::string& name, const std::vector<double>& values) {
    std::string text = fmt::format("alignas(64) inline constexpr float {}[{}] = {{", name, values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        text += (i % 6 == 0 ? "\n    " : " ") + float_literal(values[i]) + ",";
    }
    return text + "\n};\n";
}

std::string activation_call(activation_kind kind, const std::string& value) {
    if (kind == activation_kind::linear) return value;
    return fmt::format("{}({})", keras_name(kind), value);
}

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

constexpr const char* activation_functions =
    R"(// The activations, as the Net's kernels compute them (runtime/kernels/activation-inl.h; Keras's constants).
template <class T>
inline T relu(T z) { return z > T(0) ? z : T(0); }
template <class T>
inline T elu(T z) { return z > T(0) ? z : std::expm1(z); }
template <class T>
inline T selu(T z) { return T(1.0507009873554805) * (z > T(0) ? z : T(1.6732632423543772) * std::expm1(z)); }
template <class T>
inline T sigmoid(T z) {
    const T e = std::exp(-std::fabs(z));  // never overflows
    const T positive = T(1) / (T(1) + e);
    return z < T(0) ? e * positive : positive;
}
template <class T>
inline T tanh(T z) { return std::tanh(z); }

// Probabilities from logits, stable (subtracts the largest), summed in double like the Net's softmax_rows.
inline void softmax(const float* z, std::size_t n, float* p) {
    float top = z[0];
    for (std::size_t i = 1; i < n; ++i) top = z[i] > top ? z[i] : top;
    double total = 0.0;
    for (std::size_t i = 0; i < n; ++i) total += std::exp(static_cast<double>(z[i] - top));
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<float>(std::exp(static_cast<double>(z[i] - top)) / total);
}
)";

}  // namespace

std::string export_header(const std::vector<layer_description>& layers, const safetensors_file& checkpoint,
                          const export_options& options) {
    check_namespace(options.ns);
    if (!std::isfinite(options.input_scale) || options.input_scale == 0.0) {
        throw export_error(fmt::format("input scale {} is not a finite non-zero number", options.input_scale));
    }
    if (layers.empty()) throw export_error("the model has no layers");
    check_architecture(layers, checkpoint);
    const auto values = read_variables(layers, checkpoint);
    auto ops = operations(layers, values, checkpoint.source());
    const std::size_t input_size = layers.front().in_size, output_size = layers.back().out_size;
    std::vector<std::string> folded;
    if (options.input_scale != 1.0) {
        op scale;
        scale.kind = op_kind::scale_shift;
        scale.name = "input_scale";
        scale.covers = {fmt::format("input scale {}", options.input_scale)};
        scale.in = scale.out = input_size;
        scale.features = 1;
        scale.scale = {options.input_scale};
        scale.shift = {0.0};
        ops.insert(ops.begin(), scale);
    }
    fold(ops, folded);

    std::size_t widest = 1;
    for (const auto& o : ops) widest = std::max(widest, o.out);

    std::string text;
    text += "// Generated by nnfuse-export: a trained nnfuse model as a dependency-free C++17 inference function.\n";
    text += fmt::format("// Model: {} ({})\n// Weights: {}", options.model_expression, options.model_header,
                        options.checkpoint_name);
    if (const auto m = checkpoint.metadata().find("model"); m != checkpoint.metadata().end())
        text += fmt::format(" (model \"{}\")", m->second);
    text += ".\n//\n// Layers:\n";
    for (const auto& layer : layers) {
        text += fmt::format("//   {} ({}) {}", layer.name, layer.keras_class, layer.out_shape);
        if (layer.as<codegen::dense_parameters>() || layer.as<codegen::activation_parameters>())
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
        const char* what = o.kind == op_kind::affine        ? "dense"
                           : o.kind == op_kind::scale_shift ? "scale/shift"
                           : o.kind == op_kind::activation  ? "activation"
                                                            : "softmax";
        text += fmt::format("//   {} {} -> {}: {}", what, o.in, o.out, join(o.covers));
        if (o.activation != activation_kind::linear) text += fmt::format(", {} fused", keras_name(o.activation));
        text += "\n";
    }
    text += fmt::format(
        "//\n// predict(x, rows, out): x holds rows * input_size floats{},\n"
        "// out receives rows * output_size floats. Sums are accumulated in double. No allocation: two stack\n"
        "// buffers of 4 x {} floats (4 samples at a time; a sample's result does not depend on the others).\n"
        "// Only the C++17 standard library: g++ -std=c++17 compiles it as is.\n",
        options.input_scale != 1.0 ? std::string(" (unscaled: input_scale is applied inside)") : "", widest);
    text += "#pragma once\n\n#include <cmath>\n#include <cstddef>\n\n";
    text += fmt::format("namespace {} {{\n\n", options.ns);
    text += fmt::format("constexpr std::size_t input_size = {};\nconstexpr std::size_t output_size = {};\n", input_size,
                        output_size);
    char scale_text[64];
    std::snprintf(scale_text, sizeof scale_text, "%a", options.input_scale);
    text += fmt::format(
        "// predict's input is multiplied by this (folded into the weights: {:.17g}).\n"
        "constexpr double input_scale = {};\n\n",
        options.input_scale, scale_text);
    text += "namespace detail {\n\n";
    text +=
        "// Samples computed together: a dense step reads each weight once per block.\n"
        "constexpr std::size_t block_rows = 4;\n\n";
    text += activation_functions;

    for (std::size_t k = 0; k < ops.size(); ++k) {
        const op& o = ops[k];
        const std::string fn = fmt::format("step{}_{}", k, o.name);
        text += "\n";
        switch (o.kind) {
            case op_kind::affine:
                text += array_text(fn + "_kernel", o.kernel);
                text += array_text(fn + "_bias", o.bias);
                // Rows in blocks: each weight is loaded once per block; every sum still runs over i in order, so
                // a row's result does not depend on the block it is in.
                text += fmt::format(
                    "template <std::size_t R>\n"
                    "inline void {0}_rows(const float* in, float* out) {{\n"
                    "    double sum[R][{2}];\n"
                    "    for (std::size_t r = 0; r < R; ++r)\n"
                    "        for (std::size_t j = 0; j < {2}; ++j) sum[r][j] = {0}_bias[j];\n"
                    "    for (std::size_t i = 0; i < {1}; ++i) {{\n"
                    "        const float* w = {0}_kernel + i * {2};\n"
                    "        for (std::size_t r = 0; r < R; ++r) {{\n"
                    "            const double x = in[r * {1} + i];\n"
                    "            for (std::size_t j = 0; j < {2}; ++j) sum[r][j] += x * w[j];\n"
                    "        }}\n"
                    "    }}\n"
                    "    for (std::size_t r = 0; r < R; ++r)\n"
                    "        for (std::size_t j = 0; j < {2}; ++j) out[r * {2} + j] = static_cast<float>({3});\n"
                    "}}\n"
                    "inline void {0}(const float* in, std::size_t n, float* out) {{\n"
                    "    if (n == block_rows) return {0}_rows<block_rows>(in, out);\n"
                    "    for (std::size_t r = 0; r < n; ++r) {0}_rows<1>(in + r * {1}, out + r * {2});\n"
                    "}}\n",
                    fn, o.in, o.out, activation_call(o.activation, "sum[r][j]"));
                break;
            case op_kind::scale_shift:
                text += array_text(fn + "_scale", o.scale);
                text += array_text(fn + "_shift", o.shift);
                text += fmt::format(
                    "inline void {0}(const float* in, std::size_t n, float* out) {{\n"
                    "    for (std::size_t r = 0; r < n * {1}; ++r) {{\n"
                    "        for (std::size_t c = 0; c < {2}; ++c) {{\n"
                    "            const double v = static_cast<double>(in[r * {2} + c]) * {0}_scale[c] + {0}_shift[c];\n"
                    "            out[r * {2} + c] = static_cast<float>({3});\n"
                    "        }}\n"
                    "    }}\n"
                    "}}\n",
                    fn, o.in / o.features, o.features, activation_call(o.activation, "v"));
                break;
            case op_kind::activation:
                text += fmt::format(
                    "inline void {0}(const float* in, std::size_t n, float* out) {{\n"
                    "    for (std::size_t i = 0; i < n * {1}; ++i) out[i] = {2};\n"
                    "}}\n",
                    fn, o.in, activation_call(o.activation, "in[i]"));
                break;
            case op_kind::softmax:
                text += fmt::format(
                    "inline void {0}(const float* in, std::size_t n, float* out) {{\n"
                    "    for (std::size_t r = 0; r < n; ++r) softmax(in + r * {1}, {1}, out + r * {1});\n"
                    "}}\n",
                    fn, o.in);
                break;
        }
    }
    text += "\n}  // namespace detail\n\n";
    text += "// requires: x holds rows * input_size floats, out rows * output_size floats, not overlapping x.\n";
    text += "inline void predict(const float* x, std::size_t rows, float* out) {\n";
    text += fmt::format("    float a[detail::block_rows * {0}], b[detail::block_rows * {0}];\n", widest);
    text += "    for (std::size_t r = 0; r < rows; r += detail::block_rows) {\n";
    text += "        const std::size_t n = rows - r < detail::block_rows ? rows - r : detail::block_rows;\n";
    text += "        const float* in = x + r * input_size;\n";
    text += "        float* y = out + r * output_size;\n";
    // Each step reads the previous one's output; element-wise steps work in place, a dense step alternates
    // between the two buffers; the last step writes the caller's row.
    std::string current = "in";
    for (std::size_t k = 0; k < ops.size(); ++k) {
        const op& o = ops[k];
        std::string destination;
        if (k + 1 == ops.size()) {
            destination = "y";
        } else if (o.kind != op_kind::affine && current != "in") {
            destination = current;
        } else {
            destination = current == "a" ? "b" : "a";
        }
        text += fmt::format("        detail::step{}_{}({}, n, {});\n", k, o.name, current, destination);
        current = destination;
    }
    if (ops.empty()) text += "        for (std::size_t i = 0; i < n * output_size; ++i) y[i] = in[i];\n";
    text += "    }\n}\n\n";
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
