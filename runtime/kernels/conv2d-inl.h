// 2-D convolution layer (Keras Conv2D, NHWC), forward and backward, per SIMD target (Highway).
//
// Conv2dForward<G, Filters, Act, UseBias>(x, rows, kernel, bias, y)
//   requires: G a window_geometry (window_geometry.hpp) with window_h * window_w * channels <= 8192; x [rows, G.height,
//             G.width, G.channels]; kernel [G.window_h, G.window_w, G.channels, Filters] (Keras's layout, i.e.
//             row-major [window_h * window_w * channels, Filters]); bias [Filters], nullptr when !UseBias;
//             y [rows, G.out_height(), G.out_width(), Filters], overlapping no input. Row-major float32, any
//             alignment; rows may be 0.
//   ensures:  y = Act(conv(x) + bias), the window sliding with G's strides over x padded with zeros (same padding:
//             G.pad_top() / G.pad_left() before, the rest after). Act is element-wise (softmax is refused).
// Conv2dForwardKernel<G, Filters>(kernel, forward_kernel)
//   requires: kernel as Conv2dForward's; forward_kernel forward_kernel_floats(G, Filters) floats (window_geometry.hpp),
//             overlapping it not.
//   ensures:  forward_kernel is what the training forwards that take a BN's statistics read
//             (conv2d_bn_moments-inl.h, conv2d_bn_input-inl.h): where forward_is_winograd(G, Filters), the kernel's
//             Winograd transform (conv2d_winograd-inl.h's WinogradKernel), else a copy of the kernel.
// Conv2dFlipKernel<G, Filters>(kernel, flipped_kernel)
//   requires: kernel as Conv2dForward's; flipped_kernel flipped_kernel_floats(G, Filters) floats, overlapping it not.
//   ensures:  flipped_kernel is what Conv2dBackward reads where dx is a forward convolution (below): kernel with both
//             spatial axes reversed and each tap's [channels, Filters] block transposed, or where that forward is
//             Winograd's (forward_is_winograd of input_gradient_geometry(G, Filters)), its Winograd transform.
// Conv2dBackward<G, Filters, Act, UseBias>(x, y, dy, rows, kernel, flipped_kernel, dkernel, dbias, dx)
//   requires: as DenseBackward (dense-inl.h): y the forward output (nullptr allowed when Act is linear); dy [rows,
//             out_height, out_width, Filters] is dL/dy; flipped_kernel Conv2dFlipKernel's output for kernel when dx
//             is computed and input_gradient_is_forward_convolution(G, Filters) (window_geometry.hpp), else unread
//             (nullptr allowed); dkernel shaped as kernel; dbias [Filters], nullptr when !UseBias; dx shaped as x, or
//             nullptr. The outputs overlap no input and one another.
//   ensures:  dy holds dz = dy * Act'(z) (DerivativeFromOutput of y); dkernel = sum over rows and output positions
//             of patch^T dz; dbias = the sum of dz over rows and positions; dx = the input gradient, 0 where no
//             window reaches, not computed when dx == nullptr. Gradients are overwritten, never accumulated; rows == 0
//             gives zero dkernel and dbias. Every sample's y and dx are computed on their own, in an order fixed by
//             G: bit-identical however the rows are split into calls (dkernel and dbias are per-call sums).
// None reads or writes outside its arrays or allocates on the heap (stack tiles of at most 64 KiB each: 96 KiB in all
// for the forward and the input gradient, 160 KiB for Winograd's kernel gradient), so none throws.
// The flipped kernel is the caller's because it is the same for every chunk of a step: the generated training forms
// it once per step, as a task beside the forward's chunks.
//
// Design: everything goes through gemm-inl.h's register-blocked micro-kernel (acc[R rows][C vectors] += A(i, p) *
// B(p, columns)), with the patch (window_h x window_w x channels, Keras's kernel row order) as the depth:
//   y        direct: per output row, the window_h input rows it reads (a segment of them) are copied with their
//            zero padding into a stack band; then per window row kh, A = band pixels (row stride stride_w *
//            channels, contiguous depth window_w * channels), B = the kernel rows of kh, vectors along Filters.
//            No im2col copy (which would duplicate each input float window_h * window_w / strides times). Where the
//            segment is a whole row, the band is a ring: each output row copies only the input rows it adds. The
//            input row the next output row adds to the band is prefetched while this row's products run. Long dot
//            products keep partial sums, as the dense forward's (dense-inl.h's kDepthBlock): pieces of whole window
//            rows up to 128 floats each, summed from zero in registers and added to the stored output.
//   dkernel  where forward_is_winograd: Winograd's F(3x3, 2x2) (conv2d_winograd_gradient-inl.h), 16 products per
//            channel and filter for a 2x2 block of outputs instead of 36. Otherwise per tile of output rows, the band
//            of input rows they read (as y's), A = band (patches^T read in place), B = dz, summed over the tile's
//            pixels in registers, then added to dkernel; the tile's dz = dy * Act' and its bias sums are formed just
//            before, while its rows are in cache (conv2d_backward-inl.h).
//   y (training, a BN next)  3x3, stride 1, same padding, at least 16 channels and filters: Winograd's F(2x2, 3x3)
//            (conv2d_winograd-inl.h), 16 products per channel and filter for 4 outputs instead of 36, from the kernel
//            transformed once per step (Conv2dForwardKernel). Conv2dForward itself (inference) stays direct.
//   dx       stride 1, same padding, odd windows, more channels than a vector's lanes: the forward's ForwardSample
//            (or Winograd's, where its geometry allows) run on dz with the flipped kernel (both spatial axes reversed,
//            the channel axes swapped); each dx value is written once. Otherwise dpatch = dz . kernel^T through a
//            transposed kernel tile, then col2im adds into dx zeroed first (conv2d_backward-inl.h).
// The forward activation is an element-wise pass (dense-inl.h's).
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_CONV2D_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_CONV2D_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_CONV2D_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_CONV2D_INL_H_
#endif

#include <algorithm>
#include <cstddef>

#include "dsl/activation.hpp"
#include "hwy/highway.h"
#include "runtime/kernels/conv2d_backward-inl.h"
#include "runtime/kernels/conv2d_windows-inl.h"
#include "runtime/kernels/conv2d_winograd-inl.h"
#include "runtime/kernels/conv2d_winograd_gradient-inl.h"
#include "runtime/kernels/dense-inl.h"
#include "runtime/kernels/gemm-inl.h"
#include "runtime/kernels/simd_columns-inl.h"
#include "runtime/kernels/window_geometry.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace conv_detail {

using dense_detail::ForEachBalancedRowBlock;
using dense_detail::kDepthBlock;

// Window rows per partial sum of the forward: as many whole rows as fit in kDepthBlock floats, at least one.
template <window_geometry G>
inline constexpr std::size_t kPieceWindowRows = std::max<std::size_t>(kDepthBlock / kWindowRowFloats<G>, 1);

// Nothing to do after an output row.
struct NoRowHook {
    HWY_INLINE void operator()(std::size_t /*oh*/) const {}
};

// One sample's pre-activations: y_sample [out_height, out_width, Filters] = conv(x_sample) + bias; after_row(oh) runs
// once output row oh is written (while it is in L1). The band is filled by copy (PlainSpanCopy's call signature).
// Where a segment is a whole output row, the band is a ring of window_h input rows (input row ih in slot ih mod
// window_h): the next output row copies only the stride_h rows it adds, not the window_h - stride_h it shares with
// this one (and a copy that normalizes, NormalizingSpanCopy, normalizes each input row once). The products read the
// same values in the same order either way.
template <window_geometry G, std::size_t Filters, bool UseBias, class AfterRow = NoRowHook, class Copy = PlainSpanCopy>
HWY_INLINE void ForwardSample(const float* HWY_RESTRICT x_sample, const float* HWY_RESTRICT kernel,
                              [[maybe_unused]] const float* HWY_RESTRICT bias, float* HWY_RESTRICT y_sample,
                              const AfterRow& after_row = {}, const Copy& copy = {}) {
    constexpr std::size_t kSegment = SegmentPixels<G>();
    constexpr std::size_t kBandRowFloats = ((kSegment - 1) * G.stride_w + G.window_w) * G.channels;
    constexpr std::size_t kPixelStride = G.stride_w * G.channels;  // A's row stride: next output pixel
    constexpr ptrdiff_t kRowFloats = static_cast<ptrdiff_t>(G.width * G.channels);
    constexpr bool kRing = kSegment == G.out_width();
    // Rows of the previous output row's band that this one reads too.
    constexpr std::size_t kSharedRows = kRing && G.window_h > G.stride_h ? G.window_h - G.stride_h : 0;
    HWY_ALIGN float band[G.window_h * kBandRowFloats];
    const float* band_rows[G.window_h];  // band_rows[kh]: input row first_ih + kh
    for (std::size_t oh = 0; oh < G.out_height(); ++oh) {
        const ptrdiff_t first_ih = static_cast<ptrdiff_t>(oh * G.stride_h) - static_cast<ptrdiff_t>(G.pad_top());
        for (std::size_t first_ow = 0; first_ow < G.out_width(); first_ow += kSegment) {
            const std::size_t pixels = std::min(kSegment, G.out_width() - first_ow);
            const std::size_t band_floats = ((pixels - 1) * G.stride_w + G.window_w) * G.channels;
            const ptrdiff_t first =
                (static_cast<ptrdiff_t>(first_ow * G.stride_w) - static_cast<ptrdiff_t>(G.pad_left())) *
                static_cast<ptrdiff_t>(G.channels);
            for (std::size_t kh = 0; kh < G.window_h; ++kh) {
                float* row = band + (kRing ? (oh * G.stride_h + kh) % G.window_h : kh) * kBandRowFloats;
                band_rows[kh] = row;
                if (oh > 0 && kh < kSharedRows) continue;  // in the ring already
                const ptrdiff_t ih = first_ih + static_cast<ptrdiff_t>(kh);
                const bool inside = ih >= 0 && ih < static_cast<ptrdiff_t>(G.height);
                copy(inside ? x_sample + ih * kRowFloats : x_sample, first, band_floats, inside ? kRowFloats : 0, row);
            }
            // The (last) input row the next output row adds to the band, fetched while this row's products run.
            const ptrdiff_t next_ih = first_ih + static_cast<ptrdiff_t>(G.window_h + G.stride_h - 1);
            const ptrdiff_t lo = std::max<ptrdiff_t>(first, 0);
            const ptrdiff_t hi = std::min<ptrdiff_t>(first + static_cast<ptrdiff_t>(band_floats), kRowFloats);
            if (next_ih >= 0 && next_ih < static_cast<ptrdiff_t>(G.height) && lo < hi) {
                vector_helpers::PrefetchFloats(x_sample + next_ih * kRowFloats + lo, static_cast<std::size_t>(hi - lo));
            }
            float* out = y_sample + (oh * G.out_width() + first_ow) * Filters;
            ForEachColumnBlock<Filters, kMaxBlockVectors>([&]<class Block>(std::size_t first_filter) {
                const Block zeros = ZeroBlock<Block>();
                const Block initial = UseBias ? LoadBlock<Block>(bias + first_filter) : zeros;
                // Partial sums: the patch's products in pieces of whole window rows, at most kDepthBlock floats (a
                // longer window row is cut), each summed in registers from zero and then added to the output (the
                // first from the bias, stored).
                const auto block_rows = [&]<std::size_t kRows>(std::size_t first_pixel) {
                    float* block_out = out + first_pixel * Filters + first_filter;
                    Block acc[kRows];
                    for (std::size_t first_kh = 0; first_kh < G.window_h; first_kh += kPieceWindowRows<G>) {
                        const std::size_t end_kh = std::min(first_kh + kPieceWindowRows<G>, G.window_h);
                        for (std::size_t k0 = 0; k0 < kWindowRowFloats<G>; k0 += kDepthBlock) {
                            const bool first_piece = first_kh == 0 && k0 == 0;
                            vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) {
                                acc[i] = first_piece ? initial : zeros;
                            });
                            for (std::size_t kh = first_kh; kh < end_kh; ++kh) {
                                MultiplyAccumulate<kPixelStride, /*kADepthStride=*/1, /*kBRowStride=*/Filters,
                                                   /*kBPadded=*/false>(
                                    band_rows[kh] + first_pixel * kPixelStride + k0,
                                    kernel + (kh * kWindowRowFloats<G> + k0) * Filters + first_filter,
                                    std::min(kWindowRowFloats<G> - k0, kDepthBlock), acc);
                            }
                            if (first_piece) {
                                StoreRows<Filters>(acc, block_out);
                            } else {
                                AddRows<Filters>(acc, block_out);
                            }
                        }
                    }
                };
                // Segments all of one width (a whole 14-pixel row, say): blocks of balanced, compile-time heights.
                if constexpr (G.out_width() % kSegment == 0) {
                    ForEachBalancedRowBlock<kSegment, RowsPerBlock(Block::kCount)>(block_rows);
                } else {
                    ForEachRowBlock<RowsPerBlock(Block::kCount)>(pixels, block_rows);
                }
            });
        }
        after_row(oh);
    }
}

// One sample's pre-activations from the forward kernel (Conv2dForwardKernel's output): Winograd's F(2x2, 3x3) where
// forward_is_winograd(G, Filters) (conv2d_winograd-inl.h), else ForwardSample.
template <window_geometry G, std::size_t Filters, bool UseBias, class AfterRow = NoRowHook, class Copy = PlainSpanCopy>
HWY_INLINE void ForwardSampleWith(const float* HWY_RESTRICT x_sample, const float* HWY_RESTRICT forward_kernel,
                                  const float* HWY_RESTRICT bias, float* HWY_RESTRICT y_sample,
                                  const AfterRow& after_row = {}, const Copy& copy = {}) {
    if constexpr (forward_is_winograd(G, Filters)) {
        WinogradForwardSample<G, Filters, UseBias>(x_sample, forward_kernel, bias, y_sample, after_row, copy);
    } else {
        ForwardSample<G, Filters, UseBias>(x_sample, forward_kernel, bias, y_sample, after_row, copy);
    }
}

// dx [rows, G.height, G.width, G.channels] from dz [rows, out_height, out_width, Filters] as the forward convolution
// of dz with the flipped kernel (FlipKernel, conv2d_backward-inl.h), each dx value written once. Requires
// InputGradientIsForwardConvolution<G, Filters>().
template <window_geometry G, std::size_t Filters>
HWY_INLINE void InputGradientsAsForward(const float* HWY_RESTRICT dz, std::size_t rows,
                                        const float* HWY_RESTRICT flipped, float* HWY_RESTRICT dx) {
    static_assert(InputGradientIsForwardConvolution<G, Filters>(), "dx is not a forward convolution here");
    constexpr window_geometry kDual = kInputGradientGeometry<G, Filters>;
    CheckGeometry<kDual>();
    for (std::size_t r = 0; r < rows; ++r) {
        ForwardSampleWith<kDual, G.channels, /*UseBias=*/false>(dz + r * kOutputPixels<G> * Filters, flipped, nullptr,
                                                                dx + r * G.input_size());
    }
}

// dx as Conv2dBackward computes it: InputGradientsAsForward where kInputGradientIsForward, else InputGradient per
// sample (zeroing, col2im).
template <window_geometry G, std::size_t Filters>
HWY_INLINE void InputGradients(const float* HWY_RESTRICT dz, std::size_t rows, const float* HWY_RESTRICT kernel,
                               [[maybe_unused]] const float* HWY_RESTRICT flipped_kernel, float* HWY_RESTRICT dx) {
    if constexpr (kInputGradientIsForward<G, Filters>) {
        InputGradientsAsForward<G, Filters>(dz, rows, flipped_kernel, dx);
    } else {
        for (std::size_t r = 0; r < rows; ++r) {
            InputGradient<G, Filters>(dz + r * kOutputPixels<G> * Filters, kernel, dx + r * G.input_size());
        }
    }
}

}  // namespace conv_detail

template <window_geometry G, std::size_t Filters, activation_kind Act, bool UseBias>
void Conv2dForward(const float* HWY_RESTRICT x, std::size_t rows, const float* HWY_RESTRICT kernel,
                   const float* HWY_RESTRICT bias, float* HWY_RESTRICT y) {
    conv_detail::CheckGeometry<G>();
    static_assert(Filters >= 1, "Conv2dForward: Filters must be positive");
    static_assert(Act != activation_kind::softmax, "Conv2dForward: softmax is not element-wise");
    constexpr std::size_t kOutputFloats = conv_detail::kOutputPixels<G> * Filters;
    for (std::size_t r = 0; r < rows; ++r) {
        float* y_sample = y + r * kOutputFloats;
        conv_detail::ForwardSample<G, Filters, UseBias>(x + r * G.input_size(), kernel, bias, y_sample);
        if constexpr (Act != activation_kind::linear) dense_detail::ActivateInPlace<Act>(y_sample, kOutputFloats);
    }
}

template <window_geometry G, std::size_t Filters>
void Conv2dFlipKernel(const float* HWY_RESTRICT kernel, float* HWY_RESTRICT flipped_kernel) {
    if constexpr (forward_is_winograd(conv_detail::kInputGradientGeometry<G, Filters>, G.channels)) {
        conv_detail::WinogradFlippedKernel<G, Filters>(kernel, flipped_kernel);
    } else {
        conv_detail::FlipKernel<G, Filters>(kernel, flipped_kernel);
    }
}

template <window_geometry G, std::size_t Filters>
void Conv2dForwardKernel(const float* HWY_RESTRICT kernel, float* HWY_RESTRICT forward_kernel) {
    if constexpr (forward_is_winograd(G, Filters)) {
        conv_detail::WinogradKernel<G, Filters>(kernel, forward_kernel);
    } else {
        std::copy(kernel, kernel + conv_detail::kPatchFloats<G> * Filters, forward_kernel);
    }
}

template <window_geometry G, std::size_t Filters, activation_kind Act, bool UseBias>
void Conv2dBackward(const float* HWY_RESTRICT x, [[maybe_unused]] const float* HWY_RESTRICT y, float* HWY_RESTRICT dy,
                    std::size_t rows, const float* HWY_RESTRICT kernel, const float* HWY_RESTRICT flipped_kernel,
                    float* HWY_RESTRICT dkernel, [[maybe_unused]] float* HWY_RESTRICT dbias, float* HWY_RESTRICT dx) {
    conv_detail::CheckGeometry<G>();
    static_assert(Filters >= 1, "Conv2dBackward: Filters must be positive");
    static_assert(Act != activation_kind::softmax, "Conv2dBackward: softmax is not element-wise");
    conv_detail::KernelGradient<G, Filters, Act, UseBias>(x, y, dy, rows, dkernel, dbias);  // also dz and dbias
    if (dx != nullptr) conv_detail::InputGradients<G, Filters>(dy, rows, kernel, flipped_kernel, dx);
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_CONV2D_INL_H_
