// nnfuse::dropout<rate>(): Keras's Dropout(rate). No variables; the output has the input's shape.
//
// Training: each value is dropped (set to 0) with probability rate and the kept ones are scaled by 1 / (1 - rate)
// (inverted dropout, so the expected output equals the input); inference: the identity. Every value of a sample
// draws on its own (Keras's default noise_shape). The mask is a function of the training seed, the step, the row
// and the value's index in the sample, never of the thread that computes it (runtime/kernels/dropout-inl.h).
// The rate is a template argument (a C++20 floating-point template parameter): a model is a type, and
// sequential() keeps the types of its layers, not their values. Spelling: dropout<0.5>() (a double; write 0.0,
// not 0, since an int does not convert to a double template argument).
// requires: 0 <= rate < 1 (static_assert; 1 would drop everything and divide by 0).
#pragma once

#include <array>
#include <string_view>

#include "dsl/fixed_string.hpp"
#include "dsl/variable.hpp"

namespace nnfuse {

template <double Rate>
struct dropout_layer {
    static_assert(Rate >= 0.0 && Rate < 1.0, "nnfuse::dropout: rate must be in [0, 1) (the share of values dropped)");

    static constexpr std::string_view keras_class = "Dropout";
    static constexpr std::string_view keras_base_name = "dropout";
    static constexpr bool trainable = true;  // Keras's flag; nothing to train
    static constexpr double rate = Rate;

    template <class In>
    struct output {
        using type = In;
    };
    template <class In>
    static constexpr std::array<variable_info, 0> variables(const fixed_string&) {
        return {};
    }
};

template <double Rate>
constexpr dropout_layer<Rate> dropout() {
    return {};
}

}  // namespace nnfuse
