// The consumer's own model, declared in its own tree: batch normalization of the input folded into a dense
// layer, then a softmax classifier over 3 classes of 8x8 images.
#pragma once

#include "dsl/nnfuse.hpp"

namespace my {

inline constexpr auto model = nnfuse::sequential(nnfuse::input<8, 8>, nnfuse::flatten(), nnfuse::batch_norm(),
                                                 nnfuse::dense<16>(nnfuse::elu), nnfuse::dense<3>(nnfuse::softmax));

}  // namespace my
