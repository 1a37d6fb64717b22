// nnfuse::dense<units>(activation, no_bias): a fully connected layer (Keras Dense).
//
// y = activation(x . kernel + bias), kernel [in, units] (Keras layout), bias [units].
// requires: units >= 1; a rank-1 input (put nnfuse::flatten() before it), both static_asserts.
// Spellings: dense<20>(), dense<20>(elu), dense<20>(no_bias), dense<20>(elu, no_bias).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "dsl/activation.hpp"
#include "dsl/shape.hpp"
#include "dsl/variable.hpp"

namespace nnfuse {

struct no_bias_t {};
// dense<20>(no_bias) is Keras's Dense(20, use_bias=False).
inline constexpr no_bias_t no_bias{};

template <std::size_t Units, activation_kind Activation = activation_kind::linear, bool UseBias = true>
struct dense_layer {
    static_assert(Units >= 1, "nnfuse::dense: units must be at least 1");

    static constexpr std::string_view keras_class = "Dense";
    static constexpr std::string_view keras_base_name = "dense";
    static constexpr std::size_t units = Units;
    static constexpr activation_kind activation = Activation;
    static constexpr bool use_bias = UseBias;
    static constexpr bool trainable = true;  // Keras's default; nnfuse has no frozen Dense

    template <class In>
    struct output {
        static_assert(In::rank == 1,
                      "nnfuse::dense: input must be rank 1 (one feature axis); add nnfuse::flatten() before it");
        using type = shape<Units>;
    };

    template <class In>
    static constexpr auto variables(const fixed_string& layer) {
        constexpr std::size_t count = UseBias ? 2 : 1;
        std::array<variable_info, count> vars{};
        vars[0] = make_variable(layer, "kernel", {In::size, Units}, 2, true, initializer::glorot_uniform);
        if constexpr (UseBias) vars[1] = make_variable(layer, "bias", {Units, 0}, 1, true, initializer::zeros);
        return vars;
    }
};

template <std::size_t Units>
constexpr dense_layer<Units> dense() {
    return {};
}
template <std::size_t Units, activation_kind Kind>
constexpr dense_layer<Units, Kind> dense(activation_t<Kind>) {
    return {};
}
template <std::size_t Units>
constexpr dense_layer<Units, activation_kind::linear, false> dense(no_bias_t) {
    return {};
}
template <std::size_t Units, activation_kind Kind>
constexpr dense_layer<Units, Kind, false> dense(activation_t<Kind>, no_bias_t) {
    return {};
}

}  // namespace nnfuse
