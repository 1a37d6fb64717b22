// nnfuse::max_pool2d<ph, pw>(), average_pool2d<ph, pw>(), global_average_pool2d(): pooling over the height and
// width of an NHWC sample (Keras MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D). No variables.
//
// max_pool2d / average_pool2d take the max / mean of each (ph, pw) window, per channel. Options as Keras's:
// nnfuse::strides<sh, sw> (default: the pool size), nnfuse::valid_padding (default) or nnfuse::same_padding
// (dsl/layers/window.hpp); under same padding Keras's mean counts only the values inside the input.
// global_average_pool2d takes the mean over all (h, w) of each channel: output (channels,).
// requires (static_asserts): ph, pw >= 1; a rank-3 input (height, width, channels); under valid padding a pool
//           no larger than the input.
// ensures: output (output_extent(h, ph, sh), output_extent(w, pw, sw), channels).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "dsl/layers/window.hpp"
#include "dsl/shape.hpp"
#include "dsl/variable.hpp"

namespace nnfuse {

enum class pool_kind { max, average };

template <pool_kind Kind, std::size_t PoolH, std::size_t PoolW, window_options Options>
struct pool2d_layer {
    static constexpr bool is_max = Kind == pool_kind::max;
    static_assert(!is_max || (PoolH >= 1 && PoolW >= 1),
                  "nnfuse::max_pool2d: the pool's height and width must be at least 1");
    static_assert(is_max || (PoolH >= 1 && PoolW >= 1),
                  "nnfuse::average_pool2d: the pool's height and width must be at least 1");

    static constexpr std::string_view keras_class = is_max ? "MaxPooling2D" : "AveragePooling2D";
    static constexpr std::string_view keras_base_name = is_max ? "max_pooling2d" : "average_pooling2d";
    static constexpr bool trainable = true;  // Keras's flag; nothing to train
    static constexpr pool_kind kind = Kind;
    static constexpr std::size_t pool_h = PoolH, pool_w = PoolW;
    static constexpr std::size_t stride_h = Options.stride_h, stride_w = Options.stride_w;
    static constexpr padding pad = Options.pad;

    template <class In>
    struct output {
        static constexpr bool fits = In::rank != 3 || pad == padding::same ||
                                     (PoolH <= detail::spatial_dim<In, 0> && PoolW <= detail::spatial_dim<In, 1>);
        static_assert(!is_max || In::rank == 3,
                      "nnfuse::max_pool2d: input must be rank 3 (height, width, channels); add "
                      "nnfuse::reshape<h, w, c>() before it");
        static_assert(is_max || In::rank == 3,
                      "nnfuse::average_pool2d: input must be rank 3 (height, width, channels); add "
                      "nnfuse::reshape<h, w, c>() before it");
        static_assert(!is_max || fits,
                      "nnfuse::max_pool2d: pool larger than the input under valid padding; use a smaller pool or "
                      "nnfuse::same_padding");
        static_assert(is_max || fits,
                      "nnfuse::average_pool2d: pool larger than the input under valid padding; use a smaller pool "
                      "or nnfuse::same_padding");
        using type = shape<output_extent(pad, detail::spatial_dim<In, 0>, PoolH, stride_h),
                           output_extent(pad, detail::spatial_dim<In, 1>, PoolW, stride_w), In::features>;
    };
    template <class In>
    static constexpr std::array<variable_info, 0> variables(const fixed_string&) {
        return {};
    }
};

struct global_average_pool2d_layer {
    static constexpr std::string_view keras_class = "GlobalAveragePooling2D";
    static constexpr std::string_view keras_base_name = "global_average_pooling2d";
    static constexpr bool trainable = true;  // Keras's flag; nothing to train

    template <class In>
    struct output {
        static_assert(In::rank == 3,
                      "nnfuse::global_average_pool2d: input must be rank 3 (height, width, channels); add "
                      "nnfuse::reshape<h, w, c>() before it");
        using type = shape<In::features>;
    };
    template <class In>
    static constexpr std::array<variable_info, 0> variables(const fixed_string&) {
        return {};
    }
};

namespace detail {

// The tags given to a pooling layer: the compiler's "required from" line names them.
template <class... Options>
struct pool2d_arguments {
    static_assert((is_window_option<Options> && ...),
                  "nnfuse::max_pool2d / average_pool2d: an option is none of: nnfuse::strides<h, w>, "
                  "nnfuse::valid_padding, nnfuse::same_padding");
    static_assert(window_options_of<1, 1, Options...>().strides_given <= 1 &&
                      window_options_of<1, 1, Options...>().padding_given <= 1,
                  "nnfuse::max_pool2d / average_pool2d: strides and padding may each be given only once");
    static constexpr bool ok = (is_window_option<Options> && ...);
};

template <pool_kind Kind, std::size_t PoolH, std::size_t PoolW, class... Options>
constexpr auto pool2d() {
    if constexpr (pool2d_arguments<Options...>::ok) {
        constexpr window_options given = window_options_of<PoolH, PoolW, Options...>();
        // Only the settled strides and padding name the type: max_pool2d<2, 2>() is max_pool2d<2, 2>(valid_padding).
        return pool2d_layer<Kind, PoolH, PoolW, window_options{given.stride_h, given.stride_w, given.pad}>{};
    } else {
        return pool2d_layer<Kind, PoolH, PoolW, window_options_of<PoolH, PoolW>()>{};  // refused above
    }
}

}  // namespace detail

// Keras MaxPooling2D(pool_size=(ph, pw)): strides default to the pool size, padding to valid.
template <std::size_t PoolH, std::size_t PoolW, class... Options>
constexpr auto max_pool2d(Options...) {
    return detail::pool2d<pool_kind::max, PoolH, PoolW, Options...>();
}

// Keras AveragePooling2D(pool_size=(ph, pw)): strides default to the pool size, padding to valid.
template <std::size_t PoolH, std::size_t PoolW, class... Options>
constexpr auto average_pool2d(Options...) {
    return detail::pool2d<pool_kind::average, PoolH, PoolW, Options...>();
}

constexpr global_average_pool2d_layer global_average_pool2d() { return {}; }

}  // namespace nnfuse
