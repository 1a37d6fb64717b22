// A convolutional network for Fashion-MNIST with batch normalization over channels, as Keras would write it:
//   Reshape(28, 28, 1)
//   -> [Conv2D(32, 3x3, same, no bias) -> BatchNormalization -> ReLU] x 2 -> MaxPooling2D(2x2)
//   -> [Conv2D(64, 3x3, same, no bias) -> BatchNormalization -> ReLU] x 2 -> MaxPooling2D(2x2)
//   -> Flatten -> Dense(10, softmax)
// 96,938 parameters in Keras's count (PyTorch's 96,554: it does not count the moving statistics). A flattened head
// rather than global average pooling: on Fashion-MNIST it reaches 0.92 in fewer epochs for the same convolutions.
#pragma once

#include "dsl/nnfuse.hpp"

namespace fashion_mnist_cnn {

inline constexpr auto model = nnfuse::sequential(
    nnfuse::input<28, 28>, nnfuse::reshape<28, 28, 1>(),
    nnfuse::conv2d<32, 3, 3>(nnfuse::same_padding, nnfuse::no_bias), nnfuse::batch_norm(),
    nnfuse::activation(nnfuse::relu), nnfuse::conv2d<32, 3, 3>(nnfuse::same_padding, nnfuse::no_bias),
    nnfuse::batch_norm(), nnfuse::activation(nnfuse::relu), nnfuse::max_pool2d<2, 2>(),
    nnfuse::conv2d<64, 3, 3>(nnfuse::same_padding, nnfuse::no_bias), nnfuse::batch_norm(),
    nnfuse::activation(nnfuse::relu), nnfuse::conv2d<64, 3, 3>(nnfuse::same_padding, nnfuse::no_bias),
    nnfuse::batch_norm(), nnfuse::activation(nnfuse::relu), nnfuse::max_pool2d<2, 2>(), nnfuse::flatten(),
    nnfuse::dense<10>(nnfuse::softmax));

// Keras's counts: kernels 288 + 9,216 + 18,432 + 36,864, dense 7 * 7 * 64 * 10 + 10 = 31,370, BN 4 x (32, 32, 64,
// 64) of which half trains.
static_assert(nnfuse::total_params(model) == 96938);
static_assert(nnfuse::trainable_params(model) == 96554);
static_assert(nnfuse::non_trainable_params(model) == 384);

}  // namespace fashion_mnist_cnn
