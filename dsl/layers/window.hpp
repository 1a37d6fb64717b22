// nnfuse spatial windows: the strides and padding options of conv2d and the 2-D pooling layers, and the output
// extent Keras computes for a window sliding over an NHWC (height, width, channels) sample.
//
// Options are tags passed to the layer's function, in any order, each at most once:
//   nnfuse::strides<2, 2>   the step of the window along height and width (Keras strides=(2, 2)); each >= 1
//   nnfuse::valid_padding   no padding: the window stays inside the input (Keras padding="valid")
//   nnfuse::same_padding    zero padding so that the output has ceil(extent / stride) positions ("same")
// ensures: output_extent(valid, n, k, s) = floor((n - k) / s) + 1 (requires k <= n: the layers static_assert it);
//          output_extent(same, n, k, s) = ceil(n / s), as keras.utils.conv_utils.conv_output_length.
// spatial_dim<In, i> reads dimension i of a rank-3 shape and 1 for any other rank, so that a layer refusing a
// rank other than 3 (its "input must be rank 3" static_assert) still names an output type without further errors.
#pragma once

#include <cstddef>
#include <string_view>

namespace nnfuse {

enum class padding { valid, same };

constexpr std::string_view keras_name(padding p) { return p == padding::valid ? "valid" : "same"; }

template <padding P>
struct padding_t {
    static constexpr padding value = P;
};
inline constexpr padding_t<padding::valid> valid_padding{};
inline constexpr padding_t<padding::same> same_padding{};

template <std::size_t H, std::size_t W>
struct strides_t {
    static_assert(H >= 1 && W >= 1, "nnfuse::strides: each stride must be at least 1");
    static constexpr std::size_t height = H, width = W;
};
template <std::size_t H, std::size_t W>
inline constexpr strides_t<H, W> strides{};

// The options of a window layer once its tags are read, and how often each kind of tag was given.
struct window_options {
    std::size_t stride_h = 0, stride_w = 0;  // 0: not given
    padding pad = padding::valid;
    int strides_given = 0, padding_given = 0;
};

namespace detail {

template <class T>
inline constexpr bool is_window_option = false;
template <padding P>
inline constexpr bool is_window_option<padding_t<P>> = true;
template <std::size_t H, std::size_t W>
inline constexpr bool is_window_option<strides_t<H, W>> = true;

template <padding P>
constexpr void read_window_option(window_options& o, padding_t<P>) {
    o.pad = P;
    ++o.padding_given;
}
template <std::size_t H, std::size_t W>
constexpr void read_window_option(window_options& o, strides_t<H, W>) {
    o.stride_h = H;
    o.stride_w = W;
    ++o.strides_given;
}
template <class T>
constexpr void read_window_option(window_options&, T) {}  // not a window option: the layer reads it

// The window options among Options, strides defaulting to (DefaultH, DefaultW).
template <std::size_t DefaultH, std::size_t DefaultW, class... Options>
constexpr window_options window_options_of() {
    window_options o;
    (read_window_option(o, Options{}), ...);
    if (o.strides_given == 0) {
        o.stride_h = DefaultH;
        o.stride_w = DefaultW;
    }
    return o;
}

template <class In, std::size_t I>
inline constexpr std::size_t spatial_dim = In::rank == 3 ? In::dims[In::rank == 3 ? I : 0] : 1;

}  // namespace detail

// Positions of a window of extent k stepping by s over n values (Keras's conv_output_length).
constexpr std::size_t output_extent(padding p, std::size_t n, std::size_t k, std::size_t s) {
    if (p == padding::same) return (n + s - 1) / s;
    return n >= k ? (n - k) / s + 1 : 0;
}

}  // namespace nnfuse
