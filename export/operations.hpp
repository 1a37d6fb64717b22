// nnfuse::exporter operations: the layers of a trained model as predict's per-sample operations (affine, conv2d,
// pooling, add, scale/shift, activation, softmax), with the checkpoint's values in double, and the folds between them.
//
// check_exportable: every layer is one predict can compute (Dense, Conv2D, MaxPooling2D, AveragePooling2D,
//   GlobalAveragePooling2D, Add, BatchNormalization, Activation, Flatten, Reshape, Dropout, Normalization).
//   throws: export_error naming the first other layer.
// read_variables: every layer's variables from the checkpoint, by Keras name.
//   throws: export_error naming the file and every missing tensor, wrong dtype or shape, non-finite value.
// check_architecture: the checkpoint's "architecture" metadata (if any) against the model's layers.
//   throws: export_error quoting the first layer that differs.
// operations: one operation per layer (flatten, reshape and dropout none; a softmax dense layer an affine + a softmax;
//   a batch normalization its inference form s, t; a normalization layer a standardize), nothing folded yet. Each
//   operation names the operations it reads (op::inputs: ids, model_input for predict's x), in an order where every
//   operation comes after those it reads; the last one computes the model's output.
// fold (folds.cpp): folds until nothing folds (export.hpp says what folds into what); each fold removes one operation
//   and appends what it did to `folded`. An operation is folded into another only if nothing else reads its output.
#pragma once

#include <cstddef>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "codegen/model_description.hpp"
#include "runtime/checkpoint/safetensors.hpp"
#include "runtime/kernels/window_geometry.hpp"

namespace nnfuse::exporter {

enum class op_kind {
    affine,
    conv2d,
    max_pool,
    average_pool,
    global_average_pool,
    add,
    scale_shift,
    standardize,
    activation,
    softmax
};

// What an op reads when it reads predict's input x.
inline constexpr std::size_t model_input = std::numeric_limits<std::size_t>::max();

// One operation of predict, per sample. Values in double until they are printed.
struct op {
    op_kind kind = op_kind::affine;
    std::string name;  // a C++ identifier, from the first layer it computes
    std::vector<std::string> covers;
    std::size_t id = 0;               // stable across folds: what other operations' inputs name
    std::vector<std::size_t> inputs;  // ids (model_input: x); two for an add, one otherwise
    std::size_t in = 0, out = 0;      // floats per sample
    activation_kind activation = activation_kind::linear;
    // affine: out[j] = act(bias[j] + sum_i in[i] * kernel[i * out + j]) (Keras's (inputs, units) layout)
    // conv2d: Keras's HWIO kernel [window_h, window_w, channels, filters], bias [filters]; NHWC in and out
    std::vector<double> kernel, bias;
    // conv2d, max_pool, average_pool: the input, window, strides and padding (window_geometry.hpp's TensorFlow rule)
    // global_average_pool: window.height, width, channels are the input's
    kernels::window_geometry window = {};
    std::size_t filters = 0;
    // scale_shift: out[r * features + c] = act(in[r * features + c] * scale[c] + shift[c])
    // standardize (a normalization layer, never folded): out[r * features + c] = (in[r * features + c] - shift[c])
    //   / scale[c] in float, shift the mean, scale max(sqrt(variance), 1e-7f) computed in float: the Net's kernel's
    //   bits (runtime/kernels/normalization-inl.h)
    std::size_t features = 0;
    std::vector<double> scale, shift;
};

// Whether the op computes each output from the input at the same index only (it may then write over its input).
bool elementwise(const op& o);
// The op kind as the banner says it: "dense", "conv2d 3x3/1 same", "max pool 2x2/2 valid", ...
std::string describe_kind(const op& o);

void check_exportable(const std::vector<codegen::layer_description>& layers);
std::map<std::string, std::vector<double>> read_variables(const std::vector<codegen::layer_description>& layers,
                                                          const safetensors_file& file);
void check_architecture(const std::vector<codegen::layer_description>& layers, const safetensors_file& file);
std::vector<op> operations(const std::vector<codegen::layer_description>& layers,
                           const std::map<std::string, std::vector<double>>& values, const std::string& source);
void fold(std::vector<op>& ops, std::vector<std::string>& folded);
// "a + b + c"
std::string join(const std::vector<std::string>& names);

}  // namespace nnfuse::exporter
