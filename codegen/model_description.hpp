// nnfuse::codegen::layer_description: what the generator knows about one layer of a declared model.
//
// describe(model) walks a DSL model (Boost.Hana, at compile time) and returns its layers as plain run-time values,
// so the planner and the printers are ordinary code compiled once, not per model.
// ensures: each layer's kind-specific facts are one alternative of layer_description::parameters; the variant's
// alternatives are the one list of the layer kinds the generator knows (codegen/layers/ has a module for each).
// The model's loss: describe_loss(model) (loss_description.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <boost/hana/at.hpp>
#include <boost/hana/for_each.hpp>

#include "codegen/loss_description.hpp"
#include "dsl/nnfuse.hpp"

namespace nnfuse::codegen {

struct variable_description {
    std::string name;
    std::vector<std::size_t> dims;
    bool trainable = false;
    initializer init = initializer::zeros;  // the layer's choice (dsl/variable.hpp)
};

struct flatten_parameters {};

struct dense_parameters {
    std::size_t units = 0;
    bool use_bias = false;
    activation_kind activation = activation_kind::linear;
};

struct batch_norm_parameters {
    std::size_t features = 0, rows_per_sample = 1;
    bn_profile profile = bn_profile::keras;
    double momentum = 0, epsilon = 0;
    bool cumulative_average = false, center = true, scale = true, trainable = true;
};

struct activation_parameters {
    activation_kind activation = activation_kind::linear;
};

struct dropout_parameters {
    double rate = 0;  // the share of values dropped in training, in [0, 1)
};

// Keras's Normalization (axis=-1): mean and variance per feature of the last axis.
struct normalization_parameters {
    std::size_t features = 0, rows_per_sample = 1;
};

using layer_parameters = std::variant<flatten_parameters, dense_parameters, batch_norm_parameters,
                                      activation_parameters, dropout_parameters, normalization_parameters>;

struct layer_description {
    std::string name;                       // Keras name: "dense_1"
    std::string keras_class;                // "Dense"
    std::size_t in_size = 0, out_size = 0;  // floats per sample
    std::vector<std::size_t> in_dims;       // shape of one input sample
    std::string out_shape;                  // "(None, 784)"
    std::vector<variable_description> variables;
    layer_parameters parameters;

    template <class Kind>
    const Kind* as() const {
        return std::get_if<Kind>(&parameters);
    }
    // The activation the layer ends in (linear for kinds without one).
    activation_kind activation() const {
        if (const auto* dense = as<dense_parameters>()) return dense->activation;
        if (const auto* act = as<activation_parameters>()) return act->activation;
        return activation_kind::linear;
    }
};

namespace detail {

template <class L>
struct parameters_of;
template <>
struct parameters_of<flatten_layer> {
    template <class P>
    static layer_parameters get() {
        return flatten_parameters{};
    }
};
template <std::size_t U, activation_kind A, bool B>
struct parameters_of<dense_layer<U, A, B>> {
    template <class P>
    static layer_parameters get() {
        return dense_parameters{.units = U, .use_bias = B, .activation = A};
    }
};
template <bn_options O>
struct parameters_of<batch_norm_layer<O>> {
    template <class P>
    static layer_parameters get() {
        using L = batch_norm_layer<O>;
        return batch_norm_parameters{.features = P::input_shape::features,
                                     .rows_per_sample = P::input_shape::rows_per_sample,
                                     .profile = L::profile,
                                     .momentum = L::momentum,
                                     .epsilon = L::epsilon,
                                     .cumulative_average = L::cumulative_average,
                                     .center = L::center,
                                     .scale = L::scale,
                                     .trainable = L::trainable};
    }
};
template <activation_kind A>
struct parameters_of<activation_layer<A>> {
    template <class P>
    static layer_parameters get() {
        return activation_parameters{.activation = A};
    }
};

template <double Rate>
struct parameters_of<dropout_layer<Rate>> {
    template <class P>
    static layer_parameters get() {
        return dropout_parameters{.rate = Rate};
    }
};

template <>
struct parameters_of<normalization_layer> {
    template <class P>
    static layer_parameters get() {
        return normalization_parameters{.features = P::input_shape::features,
                                        .rows_per_sample = P::input_shape::rows_per_sample};
    }
};

// Layer kinds the DSL declares but the generator cannot generate yet (issue 20): false for them.
template <class L>
inline constexpr bool generated =
    L::keras_base_name != "conv2d" && L::keras_base_name != "max_pooling2d" &&
    L::keras_base_name != "average_pooling2d" && L::keras_base_name != "global_average_pooling2d" &&
    L::keras_base_name != "reshape" && L::keras_base_name != "add";

// Instantiated for the first layer of a model that the generator cannot generate: one error, naming its kind.
template <class L>
struct refuse_not_generated {
    static_assert(L::keras_base_name != "conv2d", "nnfuse-gen: conv2d is declared but not yet generated (issue 20)");
    static_assert(L::keras_base_name != "max_pooling2d",
                  "nnfuse-gen: max_pool2d is declared but not yet generated (issue 20)");
    static_assert(L::keras_base_name != "average_pooling2d",
                  "nnfuse-gen: average_pool2d is declared but not yet generated (issue 20)");
    static_assert(L::keras_base_name != "global_average_pooling2d",
                  "nnfuse-gen: global_average_pool2d is declared but not yet generated (issue 20)");
    static_assert(L::keras_base_name != "reshape", "nnfuse-gen: reshape is declared but not yet generated (issue 20)");
    static_assert(L::keras_base_name != "add", "nnfuse-gen: residual is declared but not yet generated (issue 20)");
    static constexpr bool ok = generated<L>;
};

template <class Model>
constexpr std::size_t first_not_generated() {
    std::size_t first = Model::layer_count;
    boost::hana::for_each(Model::layers, [&](auto placed) {
        using P = decltype(placed);
        if (!generated<typename P::layer_type> && P::index < first) first = P::index;
    });
    return first;
}

}  // namespace detail

// describe() for a model whose layers are all generated.
template <class Model>
std::vector<layer_description> describe_generated(const Model& model) {
    std::vector<layer_description> layers;
    for_each_layer(model, [&](auto placed) {
        using P = decltype(placed);
        using L = typename P::layer_type;
        layer_description d;
        d.name = std::string(P::name.view());
        d.keras_class = std::string(L::keras_class);
        d.in_size = P::input_shape::size;
        d.in_dims.assign(P::input_shape::dims.begin(), P::input_shape::dims.end());
        d.out_size = P::output_shape::size;
        d.out_shape = std::string(P::output_shape::keras_text().view());
        for (const auto& v : P::variables) {
            d.variables.push_back({std::string(v.name.view()),
                                   std::vector<std::size_t>(v.dims.begin(), v.dims.begin() + v.rank), v.trainable,
                                   v.init});
        }
        // A layer kind without a parameters_of specialization is an incomplete type here: a compile error.
        d.parameters = detail::parameters_of<L>::template get<P>();
        layers.push_back(std::move(d));
    });
    return layers;
}

// requires: every layer of the model is a kind the generator knows: the first that is not (conv2d, pooling,
// reshape: declared in the DSL, not yet generated, issue 20) is one static_assert naming it.
template <class Model>
std::vector<layer_description> describe(const Model& model) {
    constexpr std::size_t refused = detail::first_not_generated<Model>();
    if constexpr (refused < Model::layer_count) {
        using L = typename std::remove_cvref_t<decltype(boost::hana::at_c<refused>(Model::layers))>::layer_type;
        [[maybe_unused]] constexpr bool refuse = detail::refuse_not_generated<L>::ok;  // its static_assert
        return {};
    } else {
        return describe_generated(model);
    }
}

}  // namespace nnfuse::codegen
