// nnfuse::conv2d<filters, kh, kw>(options...): a 2-D convolution over an NHWC sample (Keras Conv2D).
//
// y[i, j, f] = activation(sum over (u, v, c) of x[i*sh + u - pad_top, j*sw + v - pad_left, c] * kernel[u, v, c, f]
//              + bias[f]), kernel (kh, kw, in_channels, filters) (Keras layout), bias (filters,).
// Options, in any order, each at most once: an activation (nnfuse::relu, ...; default linear), nnfuse::no_bias
// (Keras use_bias=False), nnfuse::strides<sh, sw> (default 1, 1), nnfuse::valid_padding (default) or
// nnfuse::same_padding (dsl/layers/window.hpp). E.g. conv2d<32, 3, 3>(relu), conv2d<64, 3, 3>(same_padding, no_bias).
// requires (static_asserts): filters, kh, kw >= 1; a rank-3 input (height, width, channels); under valid padding
//           a kernel no larger than the input.
// ensures: output (output_extent(h, kh, sh), output_extent(w, kw, sw), filters); kernel initialized glorot_uniform
//          with Keras's fans (fan_in kh*kw*in_channels, fan_out kh*kw*filters), bias zeros.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "dsl/activation.hpp"
#include "dsl/layers/dense.hpp"  // no_bias
#include "dsl/layers/window.hpp"
#include "dsl/shape.hpp"
#include "dsl/variable.hpp"

namespace nnfuse {

struct conv2d_options {
    std::size_t stride_h = 1, stride_w = 1;
    padding pad = padding::valid;
    bool use_bias = true;
    activation_kind activation = activation_kind::linear;
};

template <std::size_t Filters, std::size_t KernelH, std::size_t KernelW, conv2d_options Options = conv2d_options{}>
struct conv2d_layer {
    static_assert(Filters >= 1, "nnfuse::conv2d: filters must be at least 1");
    static_assert(KernelH >= 1 && KernelW >= 1, "nnfuse::conv2d: the kernel's height and width must be at least 1");

    static constexpr std::string_view keras_class = "Conv2D";
    static constexpr std::string_view keras_base_name = "conv2d";
    static constexpr bool trainable = true;  // Keras's default; nnfuse has no frozen Conv2D
    static constexpr std::size_t filters = Filters, kernel_h = KernelH, kernel_w = KernelW;
    static constexpr std::size_t stride_h = Options.stride_h, stride_w = Options.stride_w;
    static constexpr padding pad = Options.pad;
    static constexpr bool use_bias = Options.use_bias;
    static constexpr activation_kind activation = Options.activation;

    template <class In>
    struct output {
        static_assert(In::rank == 3,
                      "nnfuse::conv2d: input must be rank 3 (height, width, channels); add "
                      "nnfuse::reshape<h, w, c>() before it");
        static_assert(In::rank != 3 || pad == padding::same ||
                          (KernelH <= detail::spatial_dim<In, 0> && KernelW <= detail::spatial_dim<In, 1>),
                      "nnfuse::conv2d: kernel larger than the input under valid padding; use a smaller kernel or "
                      "nnfuse::same_padding");
        using type = shape<output_extent(pad, detail::spatial_dim<In, 0>, KernelH, stride_h),
                           output_extent(pad, detail::spatial_dim<In, 1>, KernelW, stride_w), Filters>;
    };

    template <class In>
    static constexpr auto variables(const fixed_string& layer) {
        constexpr std::size_t channels = In::features;
        std::array<variable_info, use_bias ? 2 : 1> vars{};
        vars[0] =
            make_variable(layer, "kernel", {KernelH, KernelW, channels, Filters}, 4, true, initializer::glorot_uniform);
        if constexpr (use_bias) vars[1] = make_variable(layer, "bias", {Filters}, 1, true, initializer::zeros);
        return vars;
    }
};

namespace detail {

template <class T>
inline constexpr bool is_conv2d_option = is_window_option<T>;
template <>
inline constexpr bool is_conv2d_option<no_bias_t> = true;
template <activation_kind K>
inline constexpr bool is_conv2d_option<activation_t<K>> = true;

template <class T>
inline constexpr int counts_as_activation = 0;
template <activation_kind K>
inline constexpr int counts_as_activation<activation_t<K>> = 1;

template <class T>
constexpr activation_kind activation_of(T) {
    return activation_kind::linear;
}
template <activation_kind K>
constexpr activation_kind activation_of(activation_t<K>) {
    return K;
}

template <class... Options>
constexpr conv2d_options conv2d_options_of() {
    constexpr window_options window = window_options_of<1, 1, Options...>();
    conv2d_options o{.stride_h = window.stride_h, .stride_w = window.stride_w, .pad = window.pad};
    o.use_bias = !(std::is_same_v<Options, no_bias_t> || ...);
    ((o.activation = counts_as_activation<Options> ? activation_of(Options{}) : o.activation), ...);
    return o;
}

// The tags given to conv2d(): the compiler's "required from" line names them.
template <class... Options>
struct conv2d_arguments {
    static_assert((is_conv2d_option<Options> && ...),
                  "nnfuse::conv2d: an option is none of: an activation (nnfuse::relu, ...), nnfuse::no_bias, "
                  "nnfuse::strides<h, w>, nnfuse::valid_padding, nnfuse::same_padding");
    static_assert(window_options_of<1, 1, Options...>().strides_given <= 1 &&
                      window_options_of<1, 1, Options...>().padding_given <= 1 &&
                      (0 + ... + int{std::is_same_v<Options, no_bias_t>}) <= 1 &&
                      (0 + ... + counts_as_activation<Options>) <= 1,
                  "nnfuse::conv2d: each option (activation, no_bias, strides, padding) may be given only once");
    static constexpr bool ok = (is_conv2d_option<Options> && ...);
};

}  // namespace detail

template <std::size_t Filters, std::size_t KernelH, std::size_t KernelW, class... Options>
constexpr auto conv2d(Options...) {
    if constexpr (detail::conv2d_arguments<Options...>::ok) {
        return conv2d_layer<Filters, KernelH, KernelW, detail::conv2d_options_of<Options...>()>{};
    } else {
        return conv2d_layer<Filters, KernelH, KernelW>{};  // refused above
    }
}

}  // namespace nnfuse
