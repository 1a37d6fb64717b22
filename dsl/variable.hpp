// nnfuse::variable_info: one weight or state tensor of a layer, as Keras names and counts it.
//
// name is Keras's variable name ("dense/kernel:0"), dims its shape (rank 0: a scalar, shape (); 1, 2, or 4 for a
// Conv2D kernel (kh, kw, in_channels, filters)), trainable whether an optimizer updates it (moving statistics never
// are), init how its values start (Keras's default for that variable, chosen by the layer: dsl/initializer.hpp).
// For glorot_uniform, fan_in() and fan_out() are Keras's: dims[0] and dims[1] for rank 2; for rank 4 the receptive
// field kh*kw times in_channels and filters.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "dsl/fixed_string.hpp"
#include "dsl/initializer.hpp"

namespace nnfuse {

struct variable_info {
    fixed_string name;
    std::array<std::size_t, 4> dims{};
    std::size_t rank = 0;
    bool trainable = false;
    initializer init = initializer::zeros;

    constexpr std::size_t size() const {
        std::size_t n = 1;
        for (std::size_t i = 0; i < rank; ++i) n *= dims[i];
        return n;
    }

    // Keras's fans (initializers.py, _compute_fans): rank 2 (fan_in, fan_out); rank 4 receptive field * (in, out).
    constexpr std::size_t fan_in() const { return rank == 4 ? dims[0] * dims[1] * dims[2] : dims[0]; }
    constexpr std::size_t fan_out() const { return rank == 4 ? dims[0] * dims[1] * dims[3] : dims[1]; }

    // "(784,)" or "(784, 20)": the shape as Python prints a tuple.
    constexpr fixed_string shape_text() const {
        fixed_string text("(");
        for (std::size_t i = 0; i < rank; ++i) {
            if (i != 0) text.append(", ");
            text.append_number(dims[i]);
        }
        return text.append(rank == 1 ? ",)" : ")");
    }
};

// "<layer>/<variable>:0", the name TensorFlow gives the first variable of that name in a layer.
// requires: rank <= 4; glorot_uniform only for a rank-2 or rank-4 variable (its fans: fan_in(), fan_out()).
constexpr variable_info make_variable(const fixed_string& layer, std::string_view variable,
                                      std::array<std::size_t, 4> dims, std::size_t rank, bool trainable,
                                      initializer init) {
    if (rank > 4) throw "nnfuse::make_variable: a variable has at most 4 dimensions";
    if (init == initializer::glorot_uniform && rank != 2 && rank != 4) {
        throw "nnfuse::make_variable: glorot_uniform needs a rank-2 or rank-4 variable (fan_in, fan_out)";
    }
    fixed_string name = layer;
    name.append("/").append(variable).append(":0");
    return {name, dims, rank, trainable, init};
}

}  // namespace nnfuse
