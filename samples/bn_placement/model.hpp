// The BN-placement experiment: the reference model's task (Fashion-MNIST, Dense(20, elu) then
// Dense(10, softmax)) with batch normalization absent, after the activation, or before it.
//   no_bn:      Flatten -> Dense(20, elu)                                          -> Dense(10, softmax)
//   bn_after:   Flatten -> Dense(20, elu) -> BatchNormalization                    -> Dense(10, softmax)
//   bn_before:  Flatten -> Dense(20, use_bias=False) -> BatchNormalization -> Activation(elu) -> Dense(10, softmax)
// bn_before is the bn_before_activation sample's model (reused, not generated twice).
#pragma once

#include "dsl/nnfuse.hpp"

namespace bn_placement {

// One layer per line, as Keras's Sequential([...]) is written.
// clang-format off
inline constexpr auto no_bn = nnfuse::sequential(
    nnfuse::input<28, 28>,
    nnfuse::flatten(),
    nnfuse::dense<20>(nnfuse::elu),
    nnfuse::dense<10>(nnfuse::softmax));

inline constexpr auto bn_after = nnfuse::sequential(
    nnfuse::input<28, 28>,
    nnfuse::flatten(),
    nnfuse::dense<20>(nnfuse::elu),
    nnfuse::batch_norm(),
    nnfuse::dense<10>(nnfuse::softmax));
// clang-format on

}  // namespace bn_placement
