// Where batch normalization's whole-batch kernels (batch_norm-inl.h) write their output (y, dx) with non-temporal
// stores, which go to memory without first reading the lines they overwrite and without evicting what is cached.
//
// bn_streaming_output_bytes: a pass over several blocks streams its stores when its output is at least this large
// (and every row's vectors are aligned: batch_norm-inl.h, StreamsOutput). Such an output does not stay in cache for
// its reader anyway, and ordinary stores would read each line from memory before writing it: a third transfer
// next to the two that a copy makes. Measured on the 2-core Zen 4 VM (bench/bn_kernels, C = 784 and 256, N = 4096
// and 65536, interleaved): at C = 784, N = 4096 (12.25 MiB) 1.2-1.8x faster, at N = 65536 (196 MiB) 1.2-2.1x; at
// C = 256, N = 4096 (4 MiB, x and y together in the 32 MiB L3) 1.2-1.6x slower. Hence between those two sizes.
// Sized where no SIMD target is known: the tests take it from here to reach the streaming passes.
#pragma once

#include <cstddef>

namespace nnfuse::kernels {

inline constexpr std::size_t bn_streaming_output_bytes = std::size_t{8} << 20;

}  // namespace nnfuse::kernels
