// The consumer's own model, declared in its own tree: dense, batch normalization before the activation, then a
// softmax classifier over 3 classes of 8x8 images.
#pragma once

#include "dsl/nnfuse.hpp"

namespace my {

inline constexpr auto model =
    nnfuse::sequential(nnfuse::input<8, 8>, nnfuse::flatten(), nnfuse::dense<16>(nnfuse::no_bias), nnfuse::batch_norm(),
                       nnfuse::activation(nnfuse::elu), nnfuse::dense<3>(nnfuse::softmax));

}  // namespace my
