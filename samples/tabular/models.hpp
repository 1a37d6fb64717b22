// The tabular samples' models: each table's features standardized by a Normalization layer fitted to the training
// rows, one hidden dense layer without bias, batch normalization before the activation (as the founding notes
// suggest: BN's beta takes the bias's place), and the output and loss the task needs. Keras defaults throughout
// (glorot_uniform kernels, BN momentum 0.99 and epsilon 1e-3); bench/compare/tabular_torch.py builds the same
// models in PyTorch.
#pragma once

#include "dsl/nnfuse.hpp"

namespace tabular {

// Binary classification: 30 features of a cell nucleus image, malignant (0) or benign (1).
inline constexpr auto breast_cancer = nnfuse::sequential(
    nnfuse::input<30>, nnfuse::normalization(), nnfuse::dense<16>(nnfuse::no_bias), nnfuse::batch_norm(),
    nnfuse::activation(nnfuse::relu), nnfuse::dense<1>(nnfuse::sigmoid), nnfuse::binary_crossentropy);

// Three classes of wine from 13 chemical measurements.
inline constexpr auto wine =
    nnfuse::sequential(nnfuse::input<13>, nnfuse::normalization(), nnfuse::dense<16>(nnfuse::no_bias),
                       nnfuse::batch_norm(), nnfuse::activation(nnfuse::relu), nnfuse::dense<3>(nnfuse::softmax));

// Regression: disease progression one year after baseline, from 10 measurements.
inline constexpr auto diabetes = nnfuse::sequential(
    nnfuse::input<10>, nnfuse::normalization(), nnfuse::dense<32>(nnfuse::no_bias), nnfuse::batch_norm(),
    nnfuse::activation(nnfuse::relu), nnfuse::dense<1>(), nnfuse::mean_squared_error);

}  // namespace tabular
