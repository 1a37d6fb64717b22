// Small models the tests generate and train, each exercising a path of the generator.
#pragma once

#include "dsl/nnfuse.hpp"

namespace test_models {

// BN before the activation (tanh fused into BN), BN's input gradient needed (not the model input).
inline constexpr auto bn_before_activation =
    nnfuse::sequential(nnfuse::input<7>, nnfuse::dense<5>(nnfuse::no_bias), nnfuse::batch_norm(),
                       nnfuse::activation(nnfuse::tanh), nnfuse::dense<3>(nnfuse::softmax));

// Two BN layers: the torch profile on a rank-2 sample (3 rows of 4 features each), a flatten, a
// BN without beta with sigmoid fused, a standalone activation, and softmax as its own last layer.
inline constexpr auto two_bn = nnfuse::sequential(
    nnfuse::input<3, 4>, nnfuse::batch_norm<nnfuse::torch_bn>(), nnfuse::flatten(), nnfuse::dense<6>(nnfuse::elu),
    nnfuse::batch_norm<{.center = false}>(), nnfuse::activation(nnfuse::sigmoid), nnfuse::activation(nnfuse::selu),
    nnfuse::dense<4>(), nnfuse::activation(nnfuse::softmax));

// A frozen BN (trainable=false) without gamma between two dense layers: the inference path in training.
inline constexpr auto frozen_bn = nnfuse::sequential(
    nnfuse::input<5>, nnfuse::dense<4>(nnfuse::elu), nnfuse::batch_norm<{.scale = false, .trainable = false}>(),
    nnfuse::activation(nnfuse::selu), nnfuse::dense<3>(nnfuse::softmax));

// torch's momentum=None: moving statistics are the plain average over the batches seen.
inline constexpr auto cumulative_bn = nnfuse::sequential(
    nnfuse::input<37>, nnfuse::batch_norm<{.profile = nnfuse::bn_profile::torch, .cumulative_average = true}>(),
    nnfuse::dense<2>(nnfuse::softmax));

// One feature: the narrowest BN, below any vector width.
inline constexpr auto one_feature =
    nnfuse::sequential(nnfuse::input<1>, nnfuse::batch_norm(), nnfuse::dense<2>(nnfuse::softmax));

// Regression: one linear output trained with mean squared error (float targets, the mae metric, no softmax).
inline constexpr auto linear_regression =
    nnfuse::sequential(nnfuse::input<3>, nnfuse::dense<1>(), nnfuse::mean_squared_error);

}  // namespace test_models
