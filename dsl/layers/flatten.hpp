// nnfuse::flatten(): reshapes one sample to rank 1 (Keras Flatten). No variables.
#pragma once

#include <array>
#include <string_view>

#include "dsl/shape.hpp"
#include "dsl/variable.hpp"

namespace nnfuse {

struct flatten_layer {
    static constexpr std::string_view keras_class = "Flatten";
    static constexpr std::string_view keras_base_name = "flatten";
    static constexpr bool trainable = true;      // Keras's flag; nothing to train
    static constexpr bool only_reshapes = true;  // a layer that must follow the input may follow it (dsl/layer.hpp)

    template <class In>
    struct output {
        using type = shape<In::size>;
    };
    template <class In>
    static constexpr std::array<variable_info, 0> variables(const fixed_string&) {
        return {};
    }
};

constexpr flatten_layer flatten() { return {}; }

}  // namespace nnfuse
