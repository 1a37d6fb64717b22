// nnfuse::initialize_variables: Keras's default initial values for every variable of a network.
//
// glorot_uniform kernels (uniform in [-limit, limit], limit = sqrt(6 / (fan_in + fan_out))), zero
// biases and betas, gamma 1, moving mean 0, moving variance 1; gradients zeroed.
// ensures: the same seed gives bit-identical variables.
#pragma once

#include <cstdint>

#include "runtime/train/network.hpp"

namespace nnfuse {

void initialize_variables(network& net, std::uint64_t seed);

}  // namespace nnfuse
