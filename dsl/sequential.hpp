// nnfuse::sequential(input<...>, layers...): a model, known entirely at compile time.
//
// The result is an empty object whose type holds every layer placed at its position: the layer,
// the shape it receives and produces, its Keras name ("dense_1": kinds numbered in order of
// appearance, the first without a suffix), and its variables. Queries are constexpr:
//   total_params(model), trainable_params(model), non_trainable_params(model),
//   decltype(model)::output_shape, for_each_layer(model, f) (hana::for_each over placed layers).
// requires: the first argument is nnfuse::input<...>, it appears only there, and at least one
// layer follows it (static_asserts); each layer checks the shape it receives.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>

#include "dsl/fixed_string.hpp"
#include "dsl/layers/input.hpp"
#include "dsl/shape.hpp"

namespace nnfuse {

namespace detail {

template <class... Ts>
struct type_list {};

template <class T, class List>
struct push_front;
template <class T, class... Ts>
struct push_front<T, type_list<Ts...>> {
    using type = type_list<T, Ts...>;
};

// The shape each layer receives: type_list<In_0, In_1, ...>.
template <class In, class... Layers>
struct input_shapes {
    using type = type_list<>;
};
template <class In, class Layer, class... Rest>
struct input_shapes<In, Layer, Rest...> {
    using out = typename Layer::template output<In>::type;
    using type = typename push_front<In, typename input_shapes<out, Rest...>::type>::type;
};

// How many earlier layers share layer `index`'s Keras base name: Keras's suffix _1, _2, ...
template <std::size_t N>
constexpr std::size_t keras_ordinal(const std::array<std::string_view, N>& names, std::size_t index) {
    std::size_t count = 0;
    for (std::size_t j = 0; j < index; ++j) count += names[j] == names[index] ? 1 : 0;
    return count;
}

}  // namespace detail

// One layer at its place in a model.
template <std::size_t Index, class Layer, class In, std::size_t Ordinal>
struct placed_layer {
    using layer_type = Layer;
    using input_shape = In;
    using output_shape = typename Layer::template output<In>::type;
    static constexpr std::size_t index = Index;

    static constexpr fixed_string name = [] {
        fixed_string text(Layer::keras_base_name);
        if (Ordinal != 0) text.append("_").append_number(Ordinal);
        return text;
    }();
    static constexpr auto variables = Layer::template variables<In>(name);

    static constexpr std::size_t count_params(bool trainable) {
        std::size_t n = 0;
        for (const auto& v : variables) n += v.trainable == trainable ? v.size() : 0;
        return n;
    }
    static constexpr std::size_t trainable_params = count_params(true);
    static constexpr std::size_t non_trainable_params = count_params(false);
    static constexpr std::size_t params = trainable_params + non_trainable_params;
};

template <class Input, class... Placed>
struct sequential_model {
    using input_shape = typename Input::shape_type;
    // The comma fold yields its last operand: the last layer.
    using output_shape = typename decltype((std::type_identity<Placed>{}, ...))::type::output_shape;
    static constexpr std::size_t layer_count = sizeof...(Placed);
    static constexpr boost::hana::tuple<Placed...> layers{};
    static constexpr std::string_view name = "sequential";

    static constexpr std::size_t total_params = (std::size_t{0} + ... + Placed::params);
    static constexpr std::size_t trainable_params = (std::size_t{0} + ... + Placed::trainable_params);
    static constexpr std::size_t non_trainable_params = (std::size_t{0} + ... + Placed::non_trainable_params);
};

namespace detail {

template <class Input, class... Layers, class... Ins, std::size_t... I>
constexpr auto place(type_list<Ins...>, std::index_sequence<I...>) {
    constexpr std::array<std::string_view, sizeof...(Layers)> names{Layers::keras_base_name...};
    return sequential_model<Input, placed_layer<I, Layers, Ins, keras_ordinal(names, I)>...>{};
}

struct invalid_model {};

}  // namespace detail

template <class First, class... Layers>
constexpr auto sequential(First, Layers...) {
    static_assert(is_input_layer<First>,
                  "nnfuse::sequential: a model must start with nnfuse::input<...> (e.g. nnfuse::input<28, 28>)");
    static_assert(sizeof...(Layers) >= 1, "nnfuse::sequential: a model needs at least one layer after its input");
    static_assert((!is_input_layer<Layers> && ...), "nnfuse::sequential: nnfuse::input<...> may only be the first layer");
    if constexpr (is_input_layer<First> && sizeof...(Layers) >= 1 && (!is_input_layer<Layers> && ...)) {
        using shapes = typename detail::input_shapes<typename First::shape_type, Layers...>::type;
        return detail::place<First, Layers...>(shapes{}, std::index_sequence_for<Layers...>{});
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
