// Where no SIMD target is known (codegen's plan, the kernels' dispatch), how long a dense layer's inputs must be
// for its forward to run along them (dense_forward_along_inputs-inl.h): one partial sum per lane, added as a tree.
//
// dense_min_along_inputs: below it the lane reduction (about 3 shuffles and adds per output) weighs on too few
// multiply-adds, and the chain is short enough to add in order, so the broadcast scheme of gemm-inl.h takes the layer.
#pragma once

#include <cstddef>

namespace nnfuse::kernels {

inline constexpr std::size_t dense_min_along_inputs = 128;

}  // namespace nnfuse::kernels
