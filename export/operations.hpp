// nnfuse::exporter operations: the layers of a trained model as predict's per-sample operations (affine,
// scale/shift, activation, softmax), with the checkpoint's values in double, and the folds between them.
//
// check_exportable: every layer is one predict can compute (Dense, BatchNormalization, Activation, Flatten, Reshape,
//   Dropout, Normalization). throws: export_error naming the first other layer (a convolutional or residual model).
// read_variables: every layer's variables from the checkpoint, by Keras name.
//   throws: export_error naming the file and every missing tensor, wrong dtype or shape, non-finite value.
// check_architecture: the checkpoint's "architecture" metadata (if any) against the model's layers.
//   throws: export_error quoting the first layer that differs.
// operations: one operation per layer (flatten none; a softmax dense layer an affine + a softmax; a batch
//   normalization its inference form s, t; a normalization layer a standardize), nothing folded yet.
// fold: folds until nothing folds (export.hpp says what folds into what); each fold removes one operation and
//   appends what it did to `folded`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "codegen/model_description.hpp"
#include "runtime/checkpoint/safetensors.hpp"

namespace nnfuse::exporter {

enum class op_kind { affine, scale_shift, standardize, activation, softmax };

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
    // standardize (a normalization layer, never folded): out[r * features + c] = (in[r * features + c] - shift[c])
    //   / scale[c] in float, shift the mean, scale max(sqrt(variance), 1e-7f) computed in float: the Net's kernel's
    //   bits (runtime/kernels/normalization-inl.h)
    std::size_t features = 0;
    std::vector<double> scale, shift;
};

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
