// The limit of a Conv2D that applies the batch normalization before it while it reads (conv2d_bn_input-inl.h), in a
// plain header so that the generator (codegen/layers/conv_bn_input.cpp) decides with the number the kernel checks.
// ensures: a Conv2D whose input rows (width x channels floats) are at most kBnInputMaxRowFloats may apply a BN while it
//          reads; its per-channel constants, laid out over one row three times, then take at most 48 KiB of stack.
#pragma once

#include <cstddef>

namespace nnfuse::kernels {

inline constexpr std::size_t kBnInputMaxRowFloats = 4096;

}  // namespace nnfuse::kernels
