// nnfuse::kernels::window_geometry: the shape a generated convolution or pooling kernel is specialized to, as a
// structural type the kernels take as a template argument (printed by the generator with designated initializers).
//
// A window of window_h x window_w positions slides over one NHWC sample (height, width, channels) with steps
// stride_h, stride_w. Under same padding the output has ceil(extent / stride) positions and the zeros added before
// the first row (column) are half the total padding rounded down, the rest after it: TensorFlow's rule, which Keras
// and PyTorch's padding="same" (stride 1) share. Under valid padding nothing is added and the window stays inside.
// requires: every extent >= 1; under valid padding window <= extent (the DSL's static_asserts).
// ensures: out_height/out_width match dsl/layers/window.hpp's output_extent; pad_top + window_h - 1 + (out_height
//          - 1) * stride_h - pad_top < height + pad_bottom, i.e. the padded input covers every window.
#pragma once

#include <algorithm>
#include <cstddef>

namespace nnfuse::kernels {

struct window_geometry {
    std::size_t height = 1, width = 1, channels = 1;
    std::size_t window_h = 1, window_w = 1;
    std::size_t stride_h = 1, stride_w = 1;
    bool same_padding = false;

    static constexpr std::size_t output_extent(std::size_t extent, std::size_t window, std::size_t stride, bool same) {
        return same ? (extent + stride - 1) / stride : (extent - window) / stride + 1;
    }
    static constexpr std::size_t padding_before(std::size_t extent, std::size_t window, std::size_t stride, bool same) {
        if (!same) return 0;
        const std::size_t needed = (output_extent(extent, window, stride, same) - 1) * stride + window;
        return needed > extent ? (needed - extent) / 2 : 0;
    }

    constexpr std::size_t out_height() const { return output_extent(height, window_h, stride_h, same_padding); }
    constexpr std::size_t out_width() const { return output_extent(width, window_w, stride_w, same_padding); }
    constexpr std::size_t pad_top() const { return padding_before(height, window_h, stride_h, same_padding); }
    constexpr std::size_t pad_left() const { return padding_before(width, window_w, stride_w, same_padding); }
    constexpr std::size_t input_size() const { return height * width * channels; }  // floats per sample
};

// Floats of the convolutions' stack band of input rows (32 KiB, L1): conv2d_windows-inl.h's kBandFloats.
inline constexpr std::size_t conv_band_floats = 8192;

// Whether a Conv2D of `filters` filters over g computes its input gradient as the forward convolution of dz with the
// kernel flipped (conv2d_backward-inl.h's InputGradientIsForwardConvolution: stride 1, same padding with odd windows,
// the dual patch within the band). Where it is, the generated training flips the kernel once per step
// (Conv2dFlipKernel) and passes the result to Conv2dBackward.
constexpr bool input_gradient_is_forward_convolution(const window_geometry& g, std::size_t filters) {
    const bool symmetric_padding = g.same_padding && g.window_h % 2 == 1 && g.window_w % 2 == 1;
    const bool dual_patch_fits = g.window_h * g.window_w * filters <= conv_band_floats;
    return g.stride_h == 1 && g.stride_w == 1 && symmetric_padding && dual_patch_fits;
}

// Winograd's F(2x2, 3x3) (conv2d_winograd-inl.h): transformed kernel values per channel and filter.
inline constexpr std::size_t winograd_positions = 16;

// Whether a Conv2D of `filters` filters over g runs its forward as Winograd's F(2x2, 3x3) (conv2d_winograd-inl.h):
// 3x3 windows, stride 1, same padding; at least 16 channels and filters, so that the products
// (16 per channel and filter for 4 outputs, instead of 36) outweigh the transforms; the 4 input rows a pair of output
// rows reads within the band, and one tile's 16 transformed inputs and products within a stack tile of the same size
// (at most 512 channels and filters). Where it does, the generated training transforms the kernel once per step
// (Conv2dForwardKernel) and passes the result to the forward; the kernel gradient (conv2d_winograd_gradient-inl.h)
// and, where its geometry passes this test, the input gradient take Winograd's algorithms too.
constexpr bool forward_is_winograd(const window_geometry& g, std::size_t filters) {
    constexpr std::size_t min_channels = 16;
    const bool shape = g.window_h == 3 && g.window_w == 3 && g.stride_h == 1 && g.stride_w == 1 && g.same_padding;
    const bool band_fits = 4 * (g.width + 3) * g.channels <= conv_band_floats;
    const bool tile_fits = winograd_positions * std::max(g.channels, filters) <= conv_band_floats;
    return shape && band_fits && tile_fits && g.channels >= min_channels && filters >= min_channels;
}

// The input gradient as a forward convolution of dz: its geometry (dz's extents, the filters as channels).
constexpr window_geometry input_gradient_geometry(const window_geometry& g, std::size_t filters) {
    return {.height = g.out_height(),
            .width = g.out_width(),
            .channels = filters,
            .window_h = g.window_h,
            .window_w = g.window_w,
            .stride_h = 1,
            .stride_w = 1,
            .same_padding = true};
}
// Floats of the forward's kernel (Conv2dForwardKernel: the Winograd transform where forward_is_winograd) and of the
// input gradient's (Conv2dFlipKernel: the flipped kernel, or the transform of it where its forward is Winograd's).
constexpr std::size_t forward_kernel_floats(const window_geometry& g, std::size_t filters) {
    return (forward_is_winograd(g, filters) ? winograd_positions : g.window_h * g.window_w) * g.channels * filters;
}
constexpr std::size_t flipped_kernel_floats(const window_geometry& g, std::size_t filters) {
    return forward_kernel_floats(input_gradient_geometry(g, filters), g.channels);
}

}  // namespace nnfuse::kernels
