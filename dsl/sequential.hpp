// nnfuse::sequential(input<...>, layers..., [loss]): a model, known entirely at compile time.
//
// The result is an empty object whose type holds every layer placed at its position: the layer,
// the shape it receives and produces, its Keras name ("dense_1": kinds numbered in order of
// appearance, the first without a suffix), its variables, and the layers it reads; and the loss it is trained with.
// Queries are constexpr:
//   total_params(model), trainable_params(model), non_trainable_params(model),
//   decltype(model)::output_shape, decltype(model)::loss_type (dsl/loss.hpp),
//   decltype(model)::targets_per_sample, for_each_layer(model, f) (hana::for_each over placed layers).
// requires (each a static_assert): the first argument is nnfuse::input<...>, it appears only there, and at
// least one layer follows it; every other argument models nnfuse::layer (dsl/layer.hpp) or is a residual block
// (dsl/layers/residual.hpp), except a loss (dsl/loss.hpp), which may only come last; the loss can train the last
// argument (check_last_layer); without a loss the last layer ends in softmax (the model is a classifier:
// sparse_categorical_crossentropy).
// Each layer checks the shape it receives. A refused argument is named by its position (1 is the input) in
// the compiler's "required from ... sequential_argument<position, type, ...>" line. A layer that may only receive
// the model's input (nnfuse::normalization) refuses any other place itself (dsl/layer.hpp, placement).
//
// The model as a graph (what a generator walks). A residual(block...) argument is placed as its block's layers
// followed by an add_layer, as Keras's functional model lists them; so Model::layers is the layers in an order where
// every layer comes after the layers it reads (a topological order), indices 0 .. layer_count - 1.
// ensures, for each placed layer P (placed_layer below):
//   P::inputs  std::array<std::size_t, K> of the indices of the layers whose outputs P reads, in Keras's order;
//              nnfuse::model_input stands for the model's input. K == 1 for every layer except an add_layer, K == 2:
//              {the block's last layer, the producer of the residual's input x}. Every entry is < P::index or
//              model_input. P::input_shape is the shape of inputs[0]'s output (and of every other input's).
//   Model::is_chain  true when every layer reads only the one before it (inputs == {index - 1}, the first layer
//              model_input): then the model is Keras's Sequential, named "sequential"; otherwise Keras's functional
//              Model, named "model", and summary() prints the functional layout with a "Connected to" column.
//   Model::readers(i)  how many layers read layer i's output (i may be model_input); the last layer's output is also
//              read by the loss, which this does not count. A layer read twice (a residual's x) must keep its output
//              until both readers ran, and receives the sum of both readers' gradients in the backward pass.
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>

#include "dsl/fixed_string.hpp"
#include "dsl/layer.hpp"
#include "dsl/layers/input.hpp"
#include "dsl/layers/residual.hpp"
#include "dsl/loss.hpp"
#include "dsl/shape.hpp"
#include "dsl/variable.hpp"

namespace nnfuse {

// The index a placed layer's `inputs` gives for the model's input.
inline constexpr std::size_t model_input = std::numeric_limits<std::size_t>::max();

namespace detail {

template <class... Ts>
struct type_list {};

template <class A, class B>
struct concat;
template <class... As, class... Bs>
struct concat<type_list<As...>, type_list<Bs...>> {
    using type = type_list<As..., Bs...>;
};

template <class T, class List>
struct push_front;
template <class T, class... Ts>
struct push_front<T, type_list<Ts...>> {
    using type = type_list<T, Ts...>;
};

// The last of Ts (void for none).
template <class... Ts>
struct last {
    using type = void;
};
template <class T, class... Ts>
struct last<T, Ts...> {
    using type = typename decltype((std::type_identity<T>{}, ..., std::type_identity<Ts>{}))::type;
};

// Ts without its last type.
template <class... Ts>
struct drop_last {
    using type = type_list<>;
};
template <class T, class U, class... Rest>
struct drop_last<T, U, Rest...> {
    using type = typename push_front<T, typename drop_last<U, Rest...>::type>::type;
};

// The argument of sequential() at `Position` (1 is the input): the compiler's "required from" line names it.
template <std::size_t Position, class Argument, bool IsLast>
struct sequential_argument {
    static_assert(layer<Argument> || loss<Argument> || is_input_layer<Argument>,
                  "nnfuse::sequential: an argument is neither a layer nor a loss: a layer provides keras_class, "
                  "keras_base_name, trainable, output<In>::type and variables<In>(name) (dsl/layer.hpp)");
    static_assert(!loss<Argument> || IsLast,
                  "nnfuse::sequential: a loss may only be the last argument, after every layer");
    static constexpr bool ok = layer<Argument> || (loss<Argument> && IsLast);
};

template <class... Args, std::size_t... I>
constexpr bool arguments_ok(std::index_sequence<I...>) {
    return (sequential_argument<I + 2, Args, I + 1 == sizeof...(Args)>::ok && ...);
}

// The layer's output shape for input In; In itself when the layer provides none (after the static_assert).
template <class Layer, class In>
constexpr auto output_or_input() {
    static_assert(layer_for<Layer, In>,
                  "nnfuse::sequential: a layer must provide output<In>::type and variables<In>(name) returning "
                  "std::array<variable_info, N> for the shape In it receives (dsl/layer.hpp)");
    if constexpr (requires { typename Layer::template output<In>::type; }) {
        return std::type_identity<typename Layer::template output<In>::type>{};
    } else {
        return std::type_identity<In>{};
    }
}

// A layer of the flattened model: Layer receives In and reads the outputs of the layers Back... places before it
// (1: the one just before).
template <class Layer, class In, std::size_t... Back>
struct node {
    using layer_type = Layer;
};

template <class In, class Layer>
struct expand_one;

// The arguments Layers... receiving In, flattened: nodes (type_list<node...>) and the shape they give (out).
template <class In, class... Layers>
struct expand {
    using nodes = type_list<>;
    using out = In;
};
template <class In, class Layer, class... Rest>
struct expand<In, Layer, Rest...> {
    using first = expand_one<In, Layer>;
    using rest = expand<typename first::out, Rest...>;
    using nodes = typename concat<typename first::nodes, typename rest::nodes>::type;
    using out = typename rest::out;
};

template <class In, class Layer>
struct expand_one {
    using out = typename decltype(output_or_input<Layer, In>())::type;
    using nodes = type_list<node<Layer, In, 1>>;
};

template <class List>
inline constexpr std::size_t length = 0;
template <class... Ts>
inline constexpr std::size_t length<type_list<Ts...>> = sizeof...(Ts);

// A residual: its block's nodes, then the Add reading the block's last node and the node before the block's first.
template <class In, class... Block>
struct expand_one<In, residual_layer<Block...>> {
    using block = expand<In, Block...>;
    static constexpr std::size_t size = length<typename block::nodes>;
    using out = typename residual_layer<Block...>::template join<In, typename block::out>::type;
    using nodes =
        typename concat<typename block::nodes, type_list<node<add_layer, typename block::out, 1, size + 1>>>::type;
};

// The loss of a model that declares none: sparse categorical cross-entropy if it ends in softmax.
// Instantiated with the model's last layer, which the compiler's "required from" line then names.
template <class LastLayer>
struct undeclared_loss {
    static_assert(last_activation<LastLayer> == activation_kind::softmax,
                  "nnfuse::sequential: the model declares no loss and its last layer does not end in softmax, "
                  "so it is not a classifier: declare its loss as the last argument, "
                  "e.g. nnfuse::sequential(..., nnfuse::mean_squared_error)");
    using type = sparse_categorical_crossentropy_t;
};

// How many earlier layers share layer `index`'s Keras base name: Keras's suffix _1, _2, ...
template <std::size_t N>
constexpr std::size_t keras_ordinal(const std::array<std::string_view, N>& names, std::size_t index) {
    std::size_t count = 0;
    for (std::size_t j = 0; j < index; ++j) count += names[j] == names[index] ? 1 : 0;
    return count;
}

}  // namespace detail

// One layer at its place in a model, reading the outputs of the layers Inputs... (model_input: the model's input).
template <std::size_t Index, class Layer, class In, std::size_t Ordinal, std::size_t... Inputs>
struct placed_layer {
    using layer_type = Layer;
    using input_shape = In;
    using output_shape = typename decltype(detail::output_or_input<Layer, In>())::type;
    static constexpr std::size_t index = Index;
    static constexpr std::array<std::size_t, sizeof...(Inputs)> inputs{Inputs...};

    static constexpr fixed_string name = [] {
        fixed_string text(Layer::keras_base_name);
        if (Ordinal != 0) text.append("_").append_number(Ordinal);
        return text;
    }();
    static constexpr auto variables = [] {
        if constexpr (layer_for<Layer, In>) {
            return Layer::template variables<In>(name);
        } else {
            return std::array<variable_info, 0>{};  // refused by output_or_input's static_assert
        }
    }();

    static constexpr std::size_t count_params(bool trainable) {
        std::size_t n = 0;
        for (const auto& v : variables) n += v.trainable == trainable ? v.size() : 0;
        return n;
    }
    static constexpr std::size_t trainable_params = count_params(true);
    static constexpr std::size_t non_trainable_params = count_params(false);
    static constexpr std::size_t params = trainable_params + non_trainable_params;
};

template <class Input, class Loss, class... Placed>
struct sequential_model {
    using input_shape = typename Input::shape_type;
    using output_shape = typename detail::last<Placed...>::type::output_shape;
    using loss_type = Loss;
    // Target values per sample: 1 class id, or one float per output.
    static constexpr std::size_t targets_per_sample = Loss::template targets_per_sample<output_shape>;
    static constexpr std::size_t layer_count = sizeof...(Placed);
    static constexpr boost::hana::tuple<Placed...> layers{};
    static constexpr bool is_chain =
        ((Placed::inputs.size() == 1 && Placed::inputs[0] == (Placed::index == 0 ? model_input : Placed::index - 1)) &&
         ...);
    static constexpr std::string_view name = is_chain ? "sequential" : "model";

    static constexpr std::size_t readers(std::size_t producer) {
        std::size_t n = 0;
        (
            [&] {
                for (std::size_t i : Placed::inputs) n += i == producer ? 1 : 0;
            }(),
            ...);
        return n;
    }

    static constexpr std::size_t total_params = (std::size_t{0} + ... + Placed::params);
    static constexpr std::size_t trainable_params = (std::size_t{0} + ... + Placed::trainable_params);
    static constexpr std::size_t non_trainable_params = (std::size_t{0} + ... + Placed::non_trainable_params);
};

namespace detail {

// Whether only layers that reshape (only_reshapes) come before position `index`: the layer there receives the
// model's input.
template <std::size_t N>
constexpr bool follows_input(const std::array<bool, N>& reshapes, std::size_t index) {
    for (std::size_t j = 0; j < index; ++j) {
        if (!reshapes[j]) return false;
    }
    return true;
}

// Node at index I, Keras ordinal Ordinal, placed: its offsets back become indices (model_input before the first).
template <std::size_t I, std::size_t Ordinal, class Node>
struct place_node;
template <std::size_t I, std::size_t Ordinal, class Layer, class In, std::size_t... Back>
struct place_node<I, Ordinal, node<Layer, In, Back...>> {
    using type = placed_layer<I, Layer, In, Ordinal, (I >= Back ? I - Back : model_input)...>;
};

template <class Input, class Loss, class... Nodes, std::size_t... I>
constexpr auto place(type_list<Nodes...>, std::index_sequence<I...>) {
    constexpr std::array<std::string_view, sizeof...(Nodes)> names{Nodes::layer_type::keras_base_name...};
    constexpr std::array<bool, sizeof...(Nodes)> reshapes{only_reshapes<typename Nodes::layer_type>...};
    // A layer that may only receive the input refuses other places in its own static_assert (dsl/layer.hpp).
    [[maybe_unused]] constexpr bool placed =
        (placement_ok<typename Nodes::layer_type, follows_input(reshapes, I)>() && ...);
    return sequential_model<Input, Loss, typename place_node<I, keras_ordinal(names, I), Nodes>::type...>{};
}

// Places Layers after Input and attaches the loss: DeclaredLoss, or the default when it is void.
template <class Input, class DeclaredLoss, class... Layers>
constexpr auto build(type_list<Layers...>) {
    using last_layer = typename last<Layers...>::type;
    using loss_type = typename std::conditional_t<std::is_void_v<DeclaredLoss>, undeclared_loss<last_layer>,
                                                  std::type_identity<DeclaredLoss>>::type;
    if constexpr (!std::is_void_v<DeclaredLoss>) static_assert(loss_type::template check_last_layer<last_layer>::value);
    using nodes = typename expand<typename Input::shape_type, Layers...>::nodes;
    return place<Input, loss_type>(nodes{}, std::make_index_sequence<length<nodes>>{});
}

struct invalid_model {};

}  // namespace detail

template <class First, class... Args>
constexpr auto sequential(First, Args...) {
    using last_argument = typename detail::last<Args...>::type;
    constexpr bool ends_with_loss = loss<last_argument>;
    constexpr std::size_t layer_count = sizeof...(Args) - (ends_with_loss ? 1 : 0);
    static_assert(is_input_layer<First>,
                  "nnfuse::sequential: a model must start with nnfuse::input<...> (e.g. nnfuse::input<28, 28>)");
    static_assert(layer_count >= 1, "nnfuse::sequential: a model needs at least one layer after its input");
    static_assert((!is_input_layer<Args> && ...), "nnfuse::sequential: nnfuse::input<...> may only be the first layer");
    constexpr bool arguments_ok = detail::arguments_ok<Args...>(std::index_sequence_for<Args...>{});
    if constexpr (is_input_layer<First> && layer_count >= 1 && (!is_input_layer<Args> && ...) && arguments_ok) {
        if constexpr (ends_with_loss) {
            return detail::build<First, last_argument>(typename detail::drop_last<Args...>::type{});
        } else {
            return detail::build<First, void>(detail::type_list<Args...>{});
        }
    } else {
        return detail::invalid_model{};
    }
}

template <class Model>
constexpr std::size_t total_params(const Model&) {
    return Model::total_params;
}
template <class Model>
constexpr std::size_t trainable_params(const Model&) {
    return Model::trainable_params;
}
template <class Model>
constexpr std::size_t non_trainable_params(const Model&) {
    return Model::non_trainable_params;
}

// Calls f(placed_layer) for each layer in order; f sees every layer's facts as constants.
template <class Model, class F>
constexpr void for_each_layer(const Model&, F&& f) {
    boost::hana::for_each(Model::layers, std::forward<F>(f));
}

}  // namespace nnfuse
