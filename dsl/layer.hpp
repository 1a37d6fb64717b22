// nnfuse::layer: what a type must provide to be a layer of nnfuse::sequential. The spec of every layer kind.
//
// A model is a type, so a layer is one too: sequential() keeps the type of each argument and nothing of its value.
// Every fact about a layer is therefore a static member, a constant the compiler and the generator read. A layer
// kind is one header in dsl/layers/ (dense.hpp is the example to copy) with a struct of this shape:
//
//   struct EXAMPLE_LAYER {
//       // Keras's class name, as summary() prints it: "Dense".
//       static constexpr std::string_view keras_class = "Dense";
//
//       // Keras's default name: the first layer of a kind is "dense", the next "dense_1", ... (sequential()
//       // numbers layers sharing a base name in order of appearance, as Keras does).
//       static constexpr std::string_view keras_base_name = "dense";
//
//       // Keras's layer.trainable: false freezes the layer (an optimizer never updates its variables).
//       static constexpr bool trainable = true;
//
//       // The shape of one output sample for the shape In (an nnfuse::shape<...>) of one input sample.
//       // requires: In is a shape the layer accepts; an input it refuses is a static_assert inside output<In>
//       //           whose message names the layer and the rule ("nnfuse::dense: input must be rank 1 ...").
//       template <class In>
//       struct output {
//           using type = nnfuse::shape<...>;
//       };
//
//       // The layer's variables, in Keras's order, for input shape In; `layer` is the layer's Keras name
//       // ("dense_1"), which prefixes each variable's. A std::array<variable_info, N>, N >= 0, each entry made
//       // by make_variable(layer, "kernel", dims, rank, trainable, initializer) (dsl/variable.hpp): its name,
//       // shape, whether it is trained, and its initializer, Keras's default for it (dsl/initializer.hpp).
//       template <class In>
//       static constexpr std::array<variable_info, N> variables(const fixed_string& layer);
//
//       // Optional: the activation the layer applies last (Dense, Activation). A layer without this member
//       // applies none. The loss reads it: cross-entropy needs softmax last (dsl/loss.hpp).
//       static constexpr activation_kind activation = activation_kind::softmax;
//
//       // Optional: true for a layer that only reshapes its input (Flatten): a layer that must follow the input
//       // may follow it.
//       static constexpr bool only_reshapes = true;
//
//       // Optional: for a layer that may only receive the model's input (Normalization: it passes no gradient
//       // back). sequential() instantiates placement<FollowsInput>, FollowsInput true when only the input and
//       // layers that only reshape come before the layer; a static_assert inside refuses false, naming the layer.
//       template <bool FollowsInput>
//       struct placement {
//           static_assert(FollowsInput, "nnfuse::normalization: must come right after nnfuse::input<...> ...");
//           static constexpr bool ok = FollowsInput;
//       };
//   };
//
// layer<L> checks the members that do not depend on the input shape (sequential() asserts it for each argument
// after the input, naming the argument); layer_for<L, In> adds output<In> and variables<In> (asserted where the
// layer is placed, once its input shape is known). last_activation<L> is L::activation, or linear without one;
// only_reshapes<L> is L::only_reshapes, or false without one; placement_ok<L, FollowsInput> instantiates
// L::placement<FollowsInput> (true for a layer without one).
// A composite argument, nnfuse::residual(layers...) (dsl/layers/residual.hpp), models layer<L> but not layer_for:
// sequential() places its block's layers and an add_layer instead of it, and reads `inputs` of each placed layer.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "dsl/activation.hpp"
#include "dsl/fixed_string.hpp"
#include "dsl/variable.hpp"

namespace nnfuse {

namespace detail {

template <class T>
inline constexpr bool is_variable_array = false;
template <std::size_t N>
inline constexpr bool is_variable_array<std::array<variable_info, N>> = true;

}  // namespace detail

template <class L>
concept layer = std::is_empty_v<L> && requires {
    { L::keras_class } -> std::convertible_to<std::string_view>;
    { L::keras_base_name } -> std::convertible_to<std::string_view>;
    { L::trainable } -> std::convertible_to<bool>;
};

template <class L, class In>
concept layer_for = layer<L> && requires(const fixed_string& name) {
    typename L::template output<In>::type;
    requires detail::is_variable_array<std::remove_cvref_t<decltype(L::template variables<In>(name))>>;
};

template <class L>
inline constexpr activation_kind last_activation = [] {
    if constexpr (requires {
                      { L::activation } -> std::convertible_to<activation_kind>;
                  }) {
        return activation_kind{L::activation};
    } else {
        return activation_kind::linear;
    }
}();

template <class L>
inline constexpr bool only_reshapes = [] {
    if constexpr (requires {
                      { L::only_reshapes } -> std::convertible_to<bool>;
                  }) {
        return bool{L::only_reshapes};
    } else {
        return false;
    }
}();

template <class L, bool FollowsInput>
constexpr bool placement_ok() {
    if constexpr (requires { L::template placement<true>::ok; }) {
        return L::template placement<FollowsInput>::ok;
    } else {
        return true;
    }
}

}  // namespace nnfuse
