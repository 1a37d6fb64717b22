// nnfuse::input<D...>: the first layer of every model, fixing the shape of one sample.
//
// requires: at least one dimension, each at least 1 (static_assert).
// Keras's Sequential does not list the input layer in its summary, and neither do we.
#pragma once

#include <cstddef>
#include <type_traits>

#include "dsl/shape.hpp"

namespace nnfuse {

template <std::size_t... Dims>
struct input_layer {
    static_assert(sizeof...(Dims) >= 1, "nnfuse::input: give the shape of one sample, e.g. nnfuse::input<28, 28>");
    static_assert(((Dims >= 1) && ...), "nnfuse::input: every dimension must be at least 1");
    using shape_type = shape<Dims...>;
};

template <std::size_t... Dims>
inline constexpr input_layer<Dims...> input{};

template <class T>
inline constexpr bool is_input_layer = false;
template <std::size_t... Dims>
inline constexpr bool is_input_layer<input_layer<Dims...>> = true;

}  // namespace nnfuse
