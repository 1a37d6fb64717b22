// nnfuse::normalization(): Keras's Normalization() (axis=-1): the model's input standardized per feature with
// statistics fitted on the training rows (runtime/train/adapt.hpp), saved with the model.
//
// Per feature c (the last axis): y = (x - mean[c]) / max(sqrt(variance[c]), 1e-7) (Keras's epsilon,
// backend.epsilon()), in training and inference alike. Variables, in Keras's order, none trained:
// mean (c,) zeros, variance (c,) ones (so an unadapted layer is the identity), count () zeros: the values per
// feature adapt() saw (Keras's int64 count, held as a float). Keras counts them all: 2 * c + 1 parameters.
// requires: the layer comes first, right after nnfuse::input<...>, or after layers that only reshape
//           (nnfuse::flatten()): it passes no gradient back, so a layer before it could not train (static_assert,
//           placement<>).
#pragma once

#include <array>
#include <string_view>

#include "dsl/shape.hpp"
#include "dsl/variable.hpp"

namespace nnfuse {

struct normalization_layer {
    static constexpr std::string_view keras_class = "Normalization";
    static constexpr std::string_view keras_base_name = "normalization";
    static constexpr bool trainable = true;  // Keras's flag; its variables are never trained
    // Keras's backend.epsilon(): the smallest standard deviation divided by.
    static constexpr double epsilon = 1e-7;

    template <class In>
    struct output {
        using type = In;
    };

    // FollowsInput: only the input and layers that reshape come before this one (sequential.hpp).
    template <bool FollowsInput>
    struct placement {
        static_assert(FollowsInput,
                      "nnfuse::normalization: must come right after nnfuse::input<...> (or after nnfuse::flatten()): "
                      "it passes no gradient back, so a layer before it could not train");
        static constexpr bool ok = FollowsInput;
    };

    template <class In>
    static constexpr std::array<variable_info, 3> variables(const fixed_string& layer) {
        constexpr std::size_t c = In::features;
        return {make_variable(layer, "mean", {c, 0}, 1, false, initializer::zeros),
                make_variable(layer, "variance", {c, 0}, 1, false, initializer::ones),
                make_variable(layer, "count", {0, 0}, 0, false, initializer::zeros)};
    }
};

constexpr normalization_layer normalization() { return {}; }

}  // namespace nnfuse
