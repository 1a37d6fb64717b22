// Where batch normalization's whole-batch kernels (batch_norm-inl.h) write their output (y, dx) with non-temporal
// stores, which go to memory without first reading the lines they overwrite and without evicting what is cached.
//
// bn_streaming_output_bytes: a pass over several blocks streams its stores when its output is at least this large
// (and every row's vectors are aligned: bn_traversal-inl.h, StreamsOutput). Such an output does not stay in cache for
// its reader anyway, and ordinary stores would read each line from memory before writing it: a third transfer next
// to the two that a copy makes. A smaller output, which together with its input still fits in the last-level cache,
// is better written normally.
// Sized where no SIMD target is known: the tests take it from here to reach the streaming passes.
#pragma once

#include <cstddef>

namespace nnfuse::kernels {

inline constexpr std::size_t bn_streaming_output_bytes = std::size_t{8} << 20;

}  // namespace nnfuse::kernels
