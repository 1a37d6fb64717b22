// nnfuse::exporter: a trained model as one dependency-free C++17 inference header.
//
// export_header(layers, checkpoint, options) returns the text of a header that declares, in namespace options.ns,
//   constexpr std::size_t input_size, output_size, scratch_floats;
//   void predict(const float* x, std::size_t rows, float* out, float* scratch);   // rows * output_size floats
//   void predict(const float* x, std::size_t rows, float* out);   // only if scratch_floats floats <= 256 KiB
// computing what the trained Net's predict_batch computes (inference mode: moving statistics), with the weights
// as constant arrays (hex-float literals: every float round-trips exactly) and only <cmath>/<cstddef> included.
// Layers: Dense, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Add (residual blocks),
// BatchNormalization, Activation, Normalization; Flatten, Reshape and Dropout compute nothing.
// What it folds, all in double and stored as float once:
//   - the input scale (options.input_scale, e.g. 1/255 for raw pixels) into the first layer that can take it;
//   - a batch normalization in its inference form s = gamma / sqrt(moving_variance + epsilon),
//     t = beta - moving_mean * s into the dense layer after it (kernel rows scaled by s, bias += t . kernel) when
//     nothing lies between them but a flatten, into a Conv2D after it when no window reaches its zero padding, or
//     into the dense layer or Conv2D before it (kernel columns / filters and bias scaled by s, plus t: the Net's
//     inference fold) when that layer has no activation; its activation then moves into that layer;
//   - activations into the loop that produces their input; the final softmax stays a softmax over the logits.
// Nothing folds into a layer whose output something else reads too (a residual block's input).
// A normalization layer (Keras's Normalization) is a loop of its own, in float exactly as the Net's kernel computes
// it, (x - mean) / max(sqrt(variance), 1e-7f): the same bits as the Net's first step.
// A batch normalization that cannot be folded is a scale/shift loop of its own. predict allocates nothing: the
// steps' outputs share slots of scratch, planned by when each value is last read.
//
// requires: layers is describe(model) of the checkpoint's model (codegen/model_description.hpp).
// ensures:  the same inputs give the same bytes (no time stamps, no paths other than options' strings).
// throws:   export_error "<checkpoint file>: <problem>" when the checkpoint's "architecture" metadata (if any) is
//           another model's (another activation, BN profile, epsilon, layer...: the first differing layer quoted);
//           else naming every missing tensor, every tensor of the wrong
//           dtype or shape (with the shape the model expects), and any non-finite value (tensor and index);
//           one message for all of them. export_error also for an invalid namespace or input scale.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "codegen/model_description.hpp"
#include "runtime/checkpoint/safetensors.hpp"

namespace nnfuse::exporter {

struct export_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct export_options {
    std::string ns = "nnfuse_model";  // C++ namespace of the header, may be nested ("a::b")
    double input_scale = 1.0;         // predict's x is multiplied by this (folded into the first layer)
    std::string model_expression;     // for the banner: "fashion_mnist::model"
    std::string model_header;         // for the banner: "samples/fashion_mnist/model.hpp"
    std::string checkpoint_name;      // for the banner: the checkpoint's file name as given
};

std::string export_header(const std::vector<codegen::layer_description>& layers, const safetensors_file& checkpoint,
                          const export_options& options);

// Reads `checkpoint`, writes the header to `out` (replaced whole; a failure leaves no partial file).
// throws: export_error or checkpoint_error naming the file.
void export_checkpoint(const std::vector<codegen::layer_description>& layers, const std::filesystem::path& checkpoint,
                       const std::filesystem::path& out, const export_options& options);

}  // namespace nnfuse::exporter
