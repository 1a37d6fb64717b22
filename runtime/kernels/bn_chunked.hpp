// Storage of batch normalization's per-chunk statistics (bn_chunked-inl.h), sized where no SIMD target is known.
//
// bn_chunk_moments_floats(features): the floats one chunk's moments take, three per-feature arrays (center, sum of
// deviations, sum of squared deviations), each padded to a whole number of the widest vectors (AVX-512: 16 floats),
// so that every array starts on a 64-byte boundary when the first one does.
// bn_panel_features: how many features the kernels' per-feature double accumulators cover at once.
#pragma once

#include <cstddef>

namespace nnfuse::kernels {

inline constexpr std::size_t bn_moments_padding_floats = 16;

// Features whose double accumulators a BN kernel (or a Conv2D taking BN's statistics) keeps on the stack at once: wider
// layers go panel by panel, and a fusion that needs all filters in one pass is planned only up to this width.
inline constexpr std::size_t bn_panel_features = 1024;

constexpr std::size_t bn_moments_stride(std::size_t features) {
    return (features + bn_moments_padding_floats - 1) / bn_moments_padding_floats * bn_moments_padding_floats;
}

constexpr std::size_t bn_chunk_moments_floats(std::size_t features) { return 3 * bn_moments_stride(features); }

}  // namespace nnfuse::kernels
