// The founding notes' advice: batch normalization before the activation, on a dense layer
// without bias (beta does its job):
//   Flatten(28x28) -> Dense(20, use_bias=False) -> BatchNormalization -> Activation(elu) -> Dense(10, softmax)
// The generator fuses the elu into the BN kernel, forward and backward.
#pragma once

#include "dsl/nnfuse.hpp"

namespace bn_before_activation {

inline constexpr auto model =
    nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::flatten(), nnfuse::dense<20>(nnfuse::no_bias),
                       nnfuse::batch_norm(), nnfuse::activation(nnfuse::elu), nnfuse::dense<10>(nnfuse::softmax));

}  // namespace bn_before_activation
