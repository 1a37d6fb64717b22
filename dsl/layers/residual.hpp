// nnfuse::residual(layers...): a residual block, y = block(x) + x, the first graph form beyond a chain (issue 20).
//
// Used as one argument of nnfuse::sequential: residual(conv2d<32, 3, 3>(same_padding, no_bias), batch_norm(),
// activation(relu), conv2d<32, 3, 3>(same_padding, no_bias), batch_norm()). In Keras terms the block's layers follow
// the residual's input x, and an Add layer (class "Add", names add, add_1, ...) joins the block's output and x:
// Add()([block_output, x]). Nested residuals are allowed; the Add carries no variables and applies no activation.
// requires (static_asserts): at least one layer in the block; every argument models nnfuse::layer (dsl/layer.hpp),
//           not an input nor a loss; the block's output shape equals its input shape (one static_assert, in
//           join<In, BlockOut>, saying whether the channels or the spatial size / rank differ).
// ensures: sequential() places the block's layers, then add_layer, in order, as if they were arguments of their own
//          (Keras names and parameter counts as Keras numbers them in a functional model); each placed layer's
//          `inputs` names the placed layers it reads (dsl/sequential.hpp): the Add reads {block's last, x's producer}.
//          The model's summary is then Keras's functional layout (dsl/summary.hpp).
// residual_layer is a composite: it is never placed itself, and has no output<In> nor variables<In> of its own.
// Code generation: the Add is one step reading two buffers (codegen/layers/add.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <utility>

#include "dsl/layer.hpp"
#include "dsl/layers/input.hpp"
#include "dsl/loss.hpp"
#include "dsl/shape.hpp"
#include "dsl/variable.hpp"

namespace nnfuse {

// Keras's Add, as placed after a residual block: the sum of its two inputs, whose shapes are equal (checked by the
// residual's join). Its placed_layer's input_shape is the block's output; it has no variables.
struct add_layer {
    static constexpr std::string_view keras_class = "Add";
    static constexpr std::string_view keras_base_name = "add";
    static constexpr bool trainable = true;  // Keras's flag; nothing to train

    template <class In>
    struct output {
        using type = In;
    };
    template <class In>
    static constexpr std::array<variable_info, 0> variables(const fixed_string&) {
        return {};
    }
};

namespace detail {

// Whether two shapes differ before their last dimension (the spatial size) or in rank.
template <class A, class B>
constexpr bool spatial_or_rank_differs() {
    if (A::rank != B::rank) return true;
    for (std::size_t i = 0; i + 1 < A::rank; ++i) {
        if (A::dims[i] != B::dims[i]) return true;
    }
    return false;
}

}  // namespace detail

template <class... Layers>
struct residual_layer {
    static_assert(sizeof...(Layers) >= 1,
                  "nnfuse::residual: the block needs at least one layer, e.g. nnfuse::residual(nnfuse::dense<20>("
                  "nnfuse::relu), nnfuse::dense<20>())");

    // The layer concept's members (dsl/layer.hpp): what Keras shows last for the block, its Add.
    static constexpr std::string_view keras_class = add_layer::keras_class;
    static constexpr std::string_view keras_base_name = add_layer::keras_base_name;
    static constexpr bool trainable = true;
    static constexpr std::size_t block_size = sizeof...(Layers);

    // Instantiated by sequential() with the shape the residual receives (In) and the one its block gives (BlockOut):
    // Keras's Add sums equal shapes only. type: the residual's output shape, In.
    template <class In, class BlockOut>
    struct join {
        static constexpr bool spatial_differs = detail::spatial_or_rank_differs<In, BlockOut>();
        static_assert(!spatial_differs,
                      "nnfuse::residual: the block's output shape must equal its input shape (spatial size or rank "
                      "mismatch in add): Keras Add sums equal shapes; inside the block keep same_padding, stride 1, "
                      "and no pooling, flatten or reshape");
        static_assert(spatial_differs || In::features == BlockOut::features,
                      "nnfuse::residual: the block's output shape must equal its input shape (channels mismatch in "
                      "add): the block's last layer must give as many channels (filters, units) as the block "
                      "receives");
        using type = In;
    };
};

template <class L>
inline constexpr bool is_residual = false;
template <class... Layers>
inline constexpr bool is_residual<residual_layer<Layers...>> = true;

namespace detail {

// The argument of residual() at `Position` (1 is the first): the compiler's "required from" line names it.
template <std::size_t Position, class Argument>
struct residual_argument {
    static_assert(layer<Argument> && !is_input_layer<Argument> && !loss<Argument>,
                  "nnfuse::residual: an argument is not a layer: a block holds layers only (nnfuse::input and the "
                  "loss are arguments of nnfuse::sequential)");
    static constexpr bool ok = layer<Argument> && !is_input_layer<Argument> && !loss<Argument>;
};

template <class... Layers, std::size_t... I>
constexpr bool residual_arguments_ok(std::index_sequence<I...>) {
    return (residual_argument<I + 1, Layers>::ok && ...);
}

}  // namespace detail

template <class... Layers>
constexpr auto residual(Layers...) {
    if constexpr (detail::residual_arguments_ok<Layers...>(std::index_sequence_for<Layers...>{})) {
        return residual_layer<Layers...>{};
    } else {
        return residual_layer<add_layer>{};  // refused above; a valid block, so that no further error follows
    }
}

}  // namespace nnfuse
