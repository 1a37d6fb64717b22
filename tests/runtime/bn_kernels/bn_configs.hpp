// The batch-normalization kernel instantiations under test: feature counts below, at and above the
// vector widths (4, 8, 16 floats), odd sizes, rows of a whole KiB (256), two panels (C > 1024), each fused activation
// and each affine variant. test_bn_kernels.cpp instantiates every entry on every compiled SIMD target and reaches it by
// index through one exported dispatcher per kernel.
#pragma once

#include <cstddef>
#include <optional>

#include "dsl/activation.hpp"

namespace nnfuse::test {

struct bn_config {
    std::size_t features;
    activation_kind act;
    bool scale;
    bool center;

    friend constexpr bool operator==(const bn_config&, const bn_config&) = default;
};

inline constexpr bn_config bn_configs[] = {
    {1, activation_kind::linear, true, true},
    {7, activation_kind::linear, true, true},
    {16, activation_kind::linear, true, true},
    {37, activation_kind::linear, true, true},
    {256, activation_kind::linear, true, true},  // rows of 1 KiB: inference goes row by row
    {784, activation_kind::linear, true, true},
    {1500, activation_kind::linear, true, true},  // a full panel of 1024 features, then 476
    {1, activation_kind::tanh, true, true},
    {7, activation_kind::elu, true, true},
    {16, activation_kind::sigmoid, true, true},
    {37, activation_kind::elu, true, true},
    {37, activation_kind::sigmoid, true, true},
    {37, activation_kind::tanh, true, true},
    {37, activation_kind::relu, true, true},
    {37, activation_kind::selu, true, true},
    {784, activation_kind::elu, true, true},
    {37, activation_kind::linear, false, true},
    {37, activation_kind::linear, true, false},
    {37, activation_kind::linear, false, false},
    {7, activation_kind::tanh, false, false},
    {16, activation_kind::elu, true, false},
};

inline constexpr std::size_t bn_config_count = sizeof(bn_configs) / sizeof(bn_configs[0]);

constexpr std::optional<std::size_t> find_bn_config(const bn_config& wanted) {
    for (std::size_t i = 0; i < bn_config_count; ++i) {
        if (bn_configs[i] == wanted) return i;
    }
    return std::nullopt;
}

}  // namespace nnfuse::test
