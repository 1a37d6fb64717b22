// A linear Conv2D's forward that also takes the batch statistics of the batch normalization reading its output, per
// SIMD target (Highway): the statistics pass over each output row runs while the row is in L1, instead of a pass over
// the chunk's whole feature map afterwards.
//
// Conv2dForwardWithMoments<G, Filters, Act, UseBias>(x, rows, forward_kernel, bias, y, moments)
//   requires: Act == linear (the BN normalizes the convolution's own output); x, bias, y as for Conv2dForward
//             (conv2d-inl.h); forward_kernel Conv2dForwardKernel's output for the kernel (forward_kernel_floats(G,
//             Filters) floats: Winograd's transform of it where forward_is_winograd(G, Filters)); rows >= 1 (one
//             chunk); moments holds bn_chunk_moments_floats(Filters) floats (bn_chunked.hpp), 64-byte aligned.
//   ensures:  y = conv(x) + bias: Conv2dForward's bits, or where forward_is_winograd, Winograd's F(2x2, 3x3)
//             (conv2d_winograd-inl.h: fewer products, its own rounding); moments = the chunk record
//             BnChunkMoments<Filters> would write for y viewed as [rows * out_height * out_width, Filters] in its long
//             form (center = float(mean), sum(x - center) = (mean - center) * n, M2 + n * (mean - center)^2), with the
//             blocks cut at whole output rows (kBlockRows values per filter at most, or one output row where that is
//             longer) instead of every kBlockRows values: the corrected two-pass sums of each block in float, merged in
//             double (Chan et al.), so the error is bounded by one block, as BnChunkMoments'. BnMergeGroupMoments
//             merges it like any record.
// No heap allocation (the double accumulators of up to kPanelFeatures filters live on the stack).
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h.

#if defined(NNFUSE_RUNTIME_KERNELS_CONV2D_BN_MOMENTS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_CONV2D_BN_MOMENTS_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_CONV2D_BN_MOMENTS_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_CONV2D_BN_MOMENTS_INL_H_
#endif

#include <algorithm>
#include <cstddef>

#include "dsl/activation.hpp"
#include "hwy/highway.h"
#include "runtime/kernels/bn_chunked-inl.h"
#include "runtime/kernels/bn_chunked.hpp"
#include "runtime/kernels/conv2d-inl.h"
#include "runtime/kernels/window_geometry.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace conv_detail {

// Output rows per statistics block: as many whole rows as kBlockRows values per filter hold, at least one.
template <window_geometry G>
inline constexpr std::size_t kRowsPerMomentsBlock = std::max<std::size_t>(1, bn_detail::kBlockRows / G.out_width());

// Conv2dForwardWithMoments's body, the band filled by copy (PlainSpanCopy's call).
template <window_geometry G, std::size_t Filters, bool UseBias, class Copy>
HWY_INLINE void ForwardWithMoments(const float* HWY_RESTRICT x, std::size_t rows,
                                   const float* HWY_RESTRICT forward_kernel, const float* HWY_RESTRICT bias,
                                   float* HWY_RESTRICT y, float* HWY_RESTRICT moments, const Copy& copy) {
    static_assert(Filters <= bn_detail::kPanelFeatures, "Conv2dForwardWithMoments: one panel of filters");
    using Panel = bn_detail::FeaturePanel<Filters, 0>;
    constexpr std::size_t kOutputFloats = conv_detail::kOutputPixels<G> * Filters;
    constexpr std::size_t kBlockOutputRows = conv_detail::kRowsPerMomentsBlock<G>;
    const bn_detail::DF d;
    // The merge reads whole vectors: the lanes past the last filter hold zeros.
    const std::size_t columns_end = (Panel::kWidth + hn::Lanes(d) - 1) / hn::Lanes(d) * hn::Lanes(d);
    bn_detail::RunningMoments<Panel::kPadded> merged;
    std::size_t values_merged = 0;  // per filter
    for (std::size_t r = 0; r < rows; ++r) {
        float* y_sample = y + r * kOutputFloats;
        std::size_t block_first_row = 0;
        conv_detail::ForwardSampleWith<G, Filters, UseBias>(
            x + r * G.input_size(), forward_kernel, bias, y_sample,
            [&](std::size_t oh) HWY_ATTR {
                if ((oh + 1) % kBlockOutputRows != 0 && oh + 1 != G.out_height()) return;
                const std::size_t block_rows = (oh + 1 - block_first_row) * G.out_width();
                const float* block = y_sample + block_first_row * G.out_width() * Filters;
                bn_detail::ForEachVector(
                    d, Panel::kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
                        hn::Vec<bn_detail::DF> center, sum_dev, sum_sq_dev;
                        bn_detail::ColumnBlockMoments<decltype(partial)::value>(block + j, Filters, block_rows, count,
                                                                                center, sum_dev, sum_sq_dev);
                        bn_detail::StoreColumnMoments(center, sum_dev, sum_sq_dev, merged.center + j,
                                                      merged.sum_dev + j, merged.sum_sq_dev + j);
                    });
                merged.MergeBlock(columns_end, values_merged, block_rows);
                values_merged += block_rows;
                block_first_row = oh + 1;
            },
            copy);
    }
    bn_chunked_detail::StoreMergedRecord<Filters, 0>(merged, values_merged, moments);
}

}  // namespace conv_detail

template <window_geometry G, std::size_t Filters, activation_kind Act, bool UseBias>
void Conv2dForwardWithMoments(const float* HWY_RESTRICT x, std::size_t rows, const float* HWY_RESTRICT forward_kernel,
                              const float* HWY_RESTRICT bias, float* HWY_RESTRICT y, float* HWY_RESTRICT moments) {
    conv_detail::CheckGeometry<G>();
    static_assert(Act == activation_kind::linear, "Conv2dForwardWithMoments: the BN reads the linear convolution");
    conv_detail::ForwardWithMoments<G, Filters, UseBias>(x, rows, forward_kernel, bias, y, moments,
                                                         conv_detail::PlainSpanCopy{});
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_CONV2D_BN_MOMENTS_INL_H_
