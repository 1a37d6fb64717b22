// nnfuse::shape<D...>: the shape of one sample, without the batch dimension, as a type.
//
// Shapes live in types so that `decltype(layer)::output_shape::size` is a constant everywhere,
// including inside hana::for_each and static_assert. Keras prints shape<784> as "(None, 784)".
// requires: every dimension is at least 1 (checked where a shape enters a model: nnfuse::input).
#pragma once

#include <array>
#include <cstddef>

#include "dsl/fixed_string.hpp"

namespace nnfuse {

template <std::size_t... Dims>
struct shape {
    static constexpr std::size_t rank = sizeof...(Dims);
    static constexpr std::array<std::size_t, rank> dims{Dims...};
    static constexpr std::size_t size = (std::size_t{1} * ... * Dims);

    // The last dimension: the features a Dense or BatchNormalization layer acts on (Keras axis=-1).
    static constexpr std::size_t features = rank == 0 ? 1 : dims[rank == 0 ? 0 : rank - 1];
    // The values per feature in one sample (rows of the [N * rows_per_sample, features] view).
    static constexpr std::size_t rows_per_sample = rank == 0 ? 1 : size / features;

    // "(None, 28, 28)", as Keras prints an output shape with its unknown batch size.
    static constexpr fixed_string keras_text() {
        fixed_string text("(None");
        for (std::size_t d : dims) text.append(", ").append_number(d);
        return text.append(")");
    }
};

}  // namespace nnfuse
