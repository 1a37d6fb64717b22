// The vanishing-gradients experiment's models: Fashion-MNIST through `Depth` hidden layers of
// `Width` units of one activation, then Dense(10, softmax); each in two variants.
//   plain_mlp<Depth, Width, Act>: Dense(Width, act)                                    x Depth
//   bn_mlp<Depth, Width, Act>:    Dense(Width, use_bias=False) -> BatchNormalization -> Activation(act)   x Depth
// Hidden dense layers are named dense, dense_1, ..., dense_<Depth-1> in both (Keras's numbering),
// so "layer k" is the same kernel shape in both; the output layer is dense_<Depth>.
//
// The sample runs every pair that meson.build's nnfuse_models names vg_<activation>_d<depth>_w<width>_no_bn
// and vg_<activation>_d<depth>_w<width>_bn (its --depth --width --activation flags choose one). To add,
// say, 10 layers of 64 tanh units: two constants here,
//     inline constexpr auto tanh_d10_w64_no_bn = plain_mlp<10, 64, nnfuse::activation_kind::tanh>;
//     inline constexpr auto tanh_d10_w64_bn = bn_mlp<10, 64, nnfuse::activation_kind::tanh>;
// and their two entries in nnfuse_models. Each generated model costs build time (the generator's
// code is compiled for every SIMD target), so the build keeps few.
#pragma once

#include <cstddef>
#include <utility>

#include "dsl/nnfuse.hpp"

namespace vanishing_gradients {

template <std::size_t Width, nnfuse::activation_kind Act, std::size_t... Layer>
constexpr auto plain_layers(std::index_sequence<Layer...>) {
    return nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::flatten(),
                              (static_cast<void>(Layer), nnfuse::dense<Width>(nnfuse::activation_t<Act>{}))...,
                              nnfuse::dense<10>(nnfuse::softmax));
}

// Part `I % 3` of a hidden block: the dense, its batch normalization, the activation.
template <std::size_t I, std::size_t Width, nnfuse::activation_kind Act>
constexpr auto bn_block_part() {
    if constexpr (I % 3 == 0) {
        return nnfuse::dense<Width>(nnfuse::no_bias);  // beta is the bias
    } else if constexpr (I % 3 == 1) {
        return nnfuse::batch_norm();
    } else {
        return nnfuse::activation(nnfuse::activation_t<Act>{});
    }
}

template <std::size_t Width, nnfuse::activation_kind Act, std::size_t... I>
constexpr auto bn_layers(std::index_sequence<I...>) {
    return nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::flatten(), bn_block_part<I, Width, Act>()...,
                              nnfuse::dense<10>(nnfuse::softmax));
}

template <std::size_t Depth, std::size_t Width, nnfuse::activation_kind Act>
inline constexpr auto plain_mlp = plain_layers<Width, Act>(std::make_index_sequence<Depth>{});

template <std::size_t Depth, std::size_t Width, nnfuse::activation_kind Act>
inline constexpr auto bn_mlp = bn_layers<Width, Act>(std::make_index_sequence<3 * Depth>{});

// The founding notes' case: 10 hidden layers of 64 sigmoid units.
inline constexpr auto sigmoid_d10_w64_no_bn = plain_mlp<10, 64, nnfuse::activation_kind::sigmoid>;
inline constexpr auto sigmoid_d10_w64_bn = bn_mlp<10, 64, nnfuse::activation_kind::sigmoid>;

// A shallow one, for comparison (depth is what makes gradients vanish) and for quick tests.
inline constexpr auto sigmoid_d3_w16_no_bn = plain_mlp<3, 16, nnfuse::activation_kind::sigmoid>;
inline constexpr auto sigmoid_d3_w16_bn = bn_mlp<3, 16, nnfuse::activation_kind::sigmoid>;

// Keras's counts: 784*64+64 + 9*(64*64+64) + 64*10+10 without BN; with BN each hidden dense loses its
// 64 biases and its BN adds 4*64 (2*64 trainable).
static_assert(nnfuse::total_params(sigmoid_d10_w64_no_bn) == 50240 + 9 * 4160 + 650);
static_assert(nnfuse::total_params(sigmoid_d10_w64_bn) == 50176 + 9 * 4096 + 10 * 256 + 650);
static_assert(nnfuse::non_trainable_params(sigmoid_d10_w64_bn) == 10 * 128);

}  // namespace vanishing_gradients
