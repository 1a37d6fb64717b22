// nnfuse::reshape<D...>(): gives one sample the shape (D...) (Keras Reshape), e.g. a flat 784 image as
// reshape<28, 28, 1>() for conv2d. Values keep their row-major order; no variables.
//
// requires (static_asserts): at least one dimension, each at least 1; D... holds as many values as the input.
// ensures: output shape<D...>. Like flatten(), it only reshapes, so a layer that must follow the input may follow it.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "dsl/shape.hpp"
#include "dsl/variable.hpp"

namespace nnfuse {

template <std::size_t... Dims>
struct reshape_layer {
    static_assert(sizeof...(Dims) >= 1, "nnfuse::reshape: give the target shape, e.g. nnfuse::reshape<28, 28, 1>()");
    static_assert(((Dims >= 1) && ...), "nnfuse::reshape: every dimension must be at least 1");

    static constexpr std::string_view keras_class = "Reshape";
    static constexpr std::string_view keras_base_name = "reshape";
    static constexpr bool trainable = true;      // Keras's flag; nothing to train
    static constexpr bool only_reshapes = true;  // a layer that must follow the input may follow it (dsl/layer.hpp)

    template <class In>
    struct output {
        static_assert(shape<Dims...>::size == In::size,
                      "nnfuse::reshape: the target shape must hold as many values as the input (Keras Reshape)");
        using type = shape<Dims...>;
    };
    template <class In>
    static constexpr std::array<variable_info, 0> variables(const fixed_string&) {
        return {};
    }
};

template <std::size_t... Dims>
constexpr reshape_layer<Dims...> reshape() {
    return {};
}

}  // namespace nnfuse
