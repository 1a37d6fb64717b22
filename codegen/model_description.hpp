// nnfuse::codegen::layer_description: what the generator knows about one layer of a declared model.
//
// describe(model) walks a DSL model (Boost.Hana, at compile time) and returns its layers as plain
// run-time values, so the planner and the emitters are ordinary code compiled once, not per model.
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

#include "dsl/nnfuse.hpp"

namespace nnfuse::codegen {

enum class layer_kind { flatten, dense, batch_norm, activation };

struct variable_description {
    std::string name;
    std::vector<std::size_t> dims;
    bool trainable = false;
};

struct layer_description {
    layer_kind kind = layer_kind::flatten;
    std::string name;        // Keras name: "dense_1"
    std::string keras_class; // "Dense"
    std::size_t in_size = 0, out_size = 0;  // floats per sample
    std::vector<std::size_t> in_dims;        // shape of one input sample
    std::string out_shape;   // "(None, 784)"
    std::vector<variable_description> variables;

    // dense
    std::size_t units = 0;
    bool use_bias = false;
    // dense and activation
    activation_kind activation = activation_kind::linear;
    // batch_norm
    std::size_t features = 0, rows_per_sample = 1;
    bn_profile profile = bn_profile::keras;
    double momentum = 0, epsilon = 0;
    bool cumulative_average = false, center = true, scale = true, trainable = true;
};

namespace detail {

template <class L>
inline constexpr bool is_flatten = std::is_same_v<L, flatten_layer>;
template <class L>
inline constexpr bool is_dense = false;
template <std::size_t U, activation_kind A, bool B>
inline constexpr bool is_dense<dense_layer<U, A, B>> = true;
template <class L>
inline constexpr bool is_batch_norm = false;
template <bn_options O>
inline constexpr bool is_batch_norm<batch_norm_layer<O>> = true;
template <class L>
inline constexpr bool is_activation = false;
template <activation_kind A>
inline constexpr bool is_activation<activation_layer<A>> = true;

}  // namespace detail

template <class Model>
std::vector<layer_description> describe(const Model& model) {
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
                                   std::vector<std::size_t>(v.dims.begin(), v.dims.begin() + v.rank), v.trainable});
        }
        if constexpr (detail::is_flatten<L>) {
            d.kind = layer_kind::flatten;
        } else if constexpr (detail::is_dense<L>) {
            d.kind = layer_kind::dense;
            d.units = L::units;
            d.use_bias = L::use_bias;
            d.activation = L::activation;
        } else if constexpr (detail::is_batch_norm<L>) {
            d.kind = layer_kind::batch_norm;
            d.features = P::input_shape::features;
            d.rows_per_sample = P::input_shape::rows_per_sample;
            d.profile = L::profile;
            d.momentum = L::momentum;
            d.epsilon = L::epsilon;
            d.cumulative_average = L::cumulative_average;
            d.center = L::center;
            d.scale = L::scale;
            d.trainable = L::trainable;
        } else {
            static_assert(detail::is_activation<L>, "nnfuse codegen: a layer kind the generator does not know");
            d.kind = layer_kind::activation;
            d.activation = L::activation;
        }
        layers.push_back(std::move(d));
    });
    return layers;
}

}  // namespace nnfuse::codegen
