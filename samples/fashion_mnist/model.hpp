// The reference model (docs/design.md), as Keras would write it:
//   Flatten(28x28) -> BatchNormalization -> Dense(20, elu) -> Dense(10, softmax)
// and the same model with PyTorch's batch-norm rules (--bn-profile torch): a BN profile is part of
// the model's type, so each profile is its own generated Net.
#pragma once

#include "dsl/nnfuse.hpp"

namespace fashion_mnist {

inline constexpr auto model = nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::flatten(), nnfuse::batch_norm(),
                                                 nnfuse::dense<20>(nnfuse::elu), nnfuse::dense<10>(nnfuse::softmax));

inline constexpr auto torch_model =
    nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::flatten(), nnfuse::batch_norm<nnfuse::torch_bn>(),
                       nnfuse::dense<20>(nnfuse::elu), nnfuse::dense<10>(nnfuse::softmax));

// The counts Keras reports for this model (docs/design.md, "The reference model").
static_assert(nnfuse::total_params(model) == 19046);
static_assert(nnfuse::trainable_params(model) == 17478);
static_assert(nnfuse::non_trainable_params(model) == 1568);

}  // namespace fashion_mnist
