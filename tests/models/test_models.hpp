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

// Dropout on the input (it reads x and has no backward; train_pixel_batch widens the pixels for it) and after a
// dense relu layer, on 8x8 images: what trains, resumes and runs on any number of threads in the dropout tests.
inline constexpr auto dropout_mlp =
    nnfuse::sequential(nnfuse::input<8, 8>, nnfuse::dropout<0.2>(), nnfuse::flatten(), nnfuse::dense<32>(nnfuse::relu),
                       nnfuse::dropout<0.5>(), nnfuse::dense<10>(nnfuse::softmax));

// Dropout's edges: after elu (whose derivative is taken from its own output, which the dropout must leave intact),
// before a BN layer (in inference, bn_input returns the dropout's input), rate 0, and producing the logits (the
// one place inference copies instead of aliasing).
inline constexpr auto dropout_edges = nnfuse::sequential(
    nnfuse::input<6>, nnfuse::dense<8>(nnfuse::elu), nnfuse::dropout<0.3>(), nnfuse::batch_norm(),
    nnfuse::dropout<0.0>(), nnfuse::dense<5>(), nnfuse::dropout<0.25>(), nnfuse::activation(nnfuse::softmax));

// The two models above without their dropout layers: the same variables under the same names, so that a test can
// check that inference through a dropout layer is the identity.
inline constexpr auto dropout_mlp_without = nnfuse::sequential(
    nnfuse::input<8, 8>, nnfuse::flatten(), nnfuse::dense<32>(nnfuse::relu), nnfuse::dense<10>(nnfuse::softmax));
inline constexpr auto dropout_edges_without =
    nnfuse::sequential(nnfuse::input<6>, nnfuse::dense<8>(nnfuse::elu), nnfuse::batch_norm(), nnfuse::dense<5>(),
                       nnfuse::activation(nnfuse::softmax));

// Regression: one linear output trained with mean squared error (float targets, the mae metric, no softmax).
inline constexpr auto linear_regression =
    nnfuse::sequential(nnfuse::input<3>, nnfuse::dense<1>(), nnfuse::mean_squared_error);

// One dense layer per loss of dsl/loss.hpp beyond those two: each loss's kernel, targets, metric and prediction in
// a generated Net (softmax or sigmoid fused into the loss where it takes them).
inline constexpr auto categorical_loss =
    nnfuse::sequential(nnfuse::input<4>, nnfuse::dense<3>(nnfuse::softmax), nnfuse::categorical_crossentropy);
inline constexpr auto binary_loss =
    nnfuse::sequential(nnfuse::input<4>, nnfuse::dense<2>(nnfuse::sigmoid), nnfuse::binary_crossentropy);
inline constexpr auto absolute_loss =
    nnfuse::sequential(nnfuse::input<4>, nnfuse::dense<2>(), nnfuse::mean_absolute_error);
inline constexpr auto huber_loss =
    nnfuse::sequential(nnfuse::input<4>, nnfuse::dense<2>(), nnfuse::huber_with_delta<0.5>);

// Tabular models as the samples train them (BN before the activation), fitted on float rows by the trainer: a
// binary classifier (one sigmoid output) and a regression with two outputs (R^2 averaged over them).
inline constexpr auto tabular_binary = nnfuse::sequential(
    nnfuse::input<5>, nnfuse::dense<8>(nnfuse::no_bias), nnfuse::batch_norm(), nnfuse::activation(nnfuse::relu),
    nnfuse::dense<1>(nnfuse::sigmoid), nnfuse::binary_crossentropy);
inline constexpr auto tabular_regression =
    nnfuse::sequential(nnfuse::input<4>, nnfuse::dense<8>(nnfuse::no_bias), nnfuse::batch_norm(),
                       nnfuse::activation(nnfuse::relu), nnfuse::dense<2>(), nnfuse::mean_squared_error);

// Issue 18's model: 30 features standardized with statistics adapt() fits, then dense(no_bias) -> BN -> relu and one
// sigmoid output trained with binary cross-entropy (the sigmoid fused into the loss).
inline constexpr auto normalized_binary = nnfuse::sequential(
    nnfuse::input<30>, nnfuse::normalization(), nnfuse::dense<16>(nnfuse::no_bias), nnfuse::batch_norm(),
    nnfuse::activation(nnfuse::relu), nnfuse::dense<1>(nnfuse::sigmoid), nnfuse::binary_crossentropy);

// Normalization on the last axis of a rank-2 sample (4 rows of 5 features share 5 means), then a flatten and a
// linear layer: every prediction is an affine function of the standardized input a test can compute in double.
inline constexpr auto normalized_rows = nnfuse::sequential(
    nnfuse::input<4, 5>, nnfuse::normalization(), nnfuse::flatten(), nnfuse::dense<3>(), nnfuse::mean_squared_error);

// A classifier that standardizes its rank-2 input (3 rows of 4 features), for the exported header's test.
inline constexpr auto normalized_classifier =
    nnfuse::sequential(nnfuse::input<3, 4>, nnfuse::normalization(), nnfuse::flatten(), nnfuse::dense<6>(nnfuse::elu),
                       nnfuse::dense<4>(nnfuse::softmax));

// A small convolutional network over 7x9 images: conv2d with same padding at odd widths, per-channel BN with elu
// fused, max pooling, a strided conv2d with a bias, an overlapping average pool with same padding (its mean counts only
// the values inside), global average pooling, then dense. Smooth activations, so finite differences can check it.
inline constexpr auto small_cnn = nnfuse::sequential(
    nnfuse::input<7, 9>, nnfuse::reshape<7, 9, 1>(), nnfuse::conv2d<4, 3, 3>(nnfuse::same_padding, nnfuse::no_bias),
    nnfuse::batch_norm(), nnfuse::activation(nnfuse::elu), nnfuse::max_pool2d<2, 2>(),
    nnfuse::conv2d<5, 3, 3>(nnfuse::strides<2, 2>, nnfuse::same_padding, nnfuse::elu),
    nnfuse::average_pool2d<2, 2>(nnfuse::strides<1, 1>, nnfuse::same_padding), nnfuse::global_average_pool2d(),
    nnfuse::dense<3>(nnfuse::softmax));

// A residual block over feature maps (issue 20): the block's first conv2d reads the residual's input x, which the Add
// reads too (its gradient: the block's plus the Add's); inside the block BN over channels with elu fused, no bias.
// Smooth activations (elu, not relu), so that finite differences can check it.
inline constexpr auto residual_cnn = nnfuse::sequential(
    nnfuse::input<6, 6>, nnfuse::reshape<6, 6, 1>(), nnfuse::conv2d<4, 3, 3>(nnfuse::same_padding, nnfuse::elu),
    nnfuse::residual(nnfuse::conv2d<4, 3, 3>(nnfuse::same_padding, nnfuse::no_bias), nnfuse::batch_norm(),
                     nnfuse::activation(nnfuse::elu), nnfuse::conv2d<4, 3, 3>(nnfuse::same_padding)),
    nnfuse::global_average_pool2d(), nnfuse::dense<3>(nnfuse::softmax));

// A residual block of dense layers: x is dense's output with elu applied in its kernel.
inline constexpr auto residual_mlp = nnfuse::sequential(
    nnfuse::input<7>, nnfuse::dense<8>(nnfuse::elu),
    nnfuse::residual(nnfuse::dense<8>(nnfuse::elu), nnfuse::dense<8>()), nnfuse::dense<3>(nnfuse::softmax));

// A block whose last step applies an activation (tanh, in dense's kernel): that step turns its incoming gradient into
// its pre-activation's in place, so the Add's gradient reaches it through a copy (add.gradient_copy).
inline constexpr auto residual_activation_end = nnfuse::sequential(
    nnfuse::input<7>, nnfuse::dense<8>(nnfuse::elu),
    nnfuse::residual(nnfuse::dense<8>(nnfuse::elu), nnfuse::dense<8>(nnfuse::tanh)), nnfuse::dense<3>(nnfuse::softmax));

}  // namespace test_models
