// nnfuse::activation(f): applies an activation on its own (Keras Activation). No variables.
//
// Its usual place is after batch_norm in the BN-before-activation pattern (docs/design.md)
// dense<n>(no_bias) -> batch_norm() -> activation(elu), where the generator fuses it into BN.
#pragma once

#include <array>
#include <string_view>

#include "dsl/activation.hpp"
#include "dsl/variable.hpp"

namespace nnfuse {

template <activation_kind Kind>
struct activation_layer {
    static constexpr std::string_view keras_class = "Activation";
    static constexpr std::string_view keras_base_name = "activation";
    static constexpr bool trainable = true;  // Keras's flag; nothing to train
    static constexpr activation_kind activation = Kind;

    template <class In>
    struct output {
        using type = In;
    };
    template <class In>
    static constexpr std::array<variable_info, 0> variables(const fixed_string&) {
        return {};
    }
};

template <activation_kind Kind>
constexpr activation_layer<Kind> activation(activation_t<Kind>) {
    return {};
}

}  // namespace nnfuse
