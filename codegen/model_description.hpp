// nnfuse::codegen::layer_description: what the generator knows about one layer of a declared model.
//
// describe(model) walks a DSL model (Boost.Hana, at compile time) and returns its layers as plain run-time values,
// so the planner and the printers are ordinary code compiled once, not per model.
// ensures: each layer's kind-specific facts are one alternative of layer_description::parameters; the variant's
// alternatives are the one list of the layer kinds the generator knows (codegen/layers/ has a module for each).
// Each layer names the layers it reads (layer_description::inputs): a chain, or a residual block's Add reading two.
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
#include "runtime/kernels/window_geometry.hpp"

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

// Keras's Reshape: the same memory with another sample shape.
struct reshape_parameters {
    std::vector<std::size_t> target_shape;
};

// Keras's Conv2D over an NHWC sample; `window` is its input, kernel size, strides and padding.
struct conv2d_parameters {
    kernels::window_geometry window = {};
    std::size_t filters = 0;
    bool use_bias = true;
    activation_kind activation = activation_kind::linear;
};

// Keras's MaxPooling2D / AveragePooling2D; `window` is the input, pool size, strides and padding.
struct pool2d_parameters {
    pool_kind kind = pool_kind::max;
    kernels::window_geometry window = {};
};

// Keras's GlobalAveragePooling2D: the mean over height and width of each channel.
struct global_average_pool2d_parameters {
    std::size_t height = 0, width = 0, channels = 0;
};

// Keras's Add joining a residual block: the sum of its two inputs (layer_description::inputs: the block's last
// layer, then the producer of the residual's input).
struct add_parameters {};

using layer_parameters =
    std::variant<flatten_parameters, dense_parameters, batch_norm_parameters, activation_parameters, dropout_parameters,
                 normalization_parameters, reshape_parameters, conv2d_parameters, pool2d_parameters,
                 global_average_pool2d_parameters, add_parameters>;

struct layer_description {
    std::string name;                       // Keras name: "dense_1"
    std::string keras_class;                // "Dense"
    std::size_t in_size = 0, out_size = 0;  // floats per sample
    std::vector<std::size_t> in_dims;       // shape of one input sample
    std::string out_shape;                  // "(None, 784)"
    std::vector<variable_description> variables;
    layer_parameters parameters;
    // The layers whose outputs it reads, as indices into describe()'s list; nnfuse::model_input for the model's
    // input. One entry, except an Add's two. Empty means the chain's: the layer before (model_input for the first).
    std::vector<std::size_t> inputs = {};

    template <class Kind>
    const Kind* as() const {
        return std::get_if<Kind>(&parameters);
    }
    // The activation the layer ends in (linear for kinds without one).
    activation_kind activation() const {
        if (const auto* dense = as<dense_parameters>()) return dense->activation;
        if (const auto* conv = as<conv2d_parameters>()) return conv->activation;
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

template <std::size_t... Dims>
struct parameters_of<reshape_layer<Dims...>> {
    template <class P>
    static layer_parameters get() {
        return reshape_parameters{.target_shape = {Dims...}};
    }
};

// The window of a conv2d or pooling layer L over its rank-3 input P::input_shape.
template <class L, class P>
constexpr kernels::window_geometry window_of(std::size_t window_h, std::size_t window_w) {
    using In = typename P::input_shape;
    return {.height = In::dims[0],
            .width = In::dims[1],
            .channels = In::dims[2],
            .window_h = window_h,
            .window_w = window_w,
            .stride_h = L::stride_h,
            .stride_w = L::stride_w,
            .same_padding = L::pad == padding::same};
}

template <std::size_t F, std::size_t KH, std::size_t KW, conv2d_options O>
struct parameters_of<conv2d_layer<F, KH, KW, O>> {
    template <class P>
    static layer_parameters get() {
        using L = conv2d_layer<F, KH, KW, O>;
        return conv2d_parameters{
            .window = window_of<L, P>(KH, KW), .filters = F, .use_bias = L::use_bias, .activation = L::activation};
    }
};

template <pool_kind K, std::size_t PH, std::size_t PW, window_options O>
struct parameters_of<pool2d_layer<K, PH, PW, O>> {
    template <class P>
    static layer_parameters get() {
        return pool2d_parameters{.kind = K, .window = window_of<pool2d_layer<K, PH, PW, O>, P>(PH, PW)};
    }
};

template <>
struct parameters_of<global_average_pool2d_layer> {
    template <class P>
    static layer_parameters get() {
        using In = typename P::input_shape;
        return global_average_pool2d_parameters{.height = In::dims[0], .width = In::dims[1], .channels = In::dims[2]};
    }
};

template <>
struct parameters_of<add_layer> {
    template <class P>
    static layer_parameters get() {
        return add_parameters{};
    }
};

// Layer kinds the DSL declares but the generator cannot generate yet: false for them. None today; a kind declared
// before its generator module exists is listed here and refused with its own message below, e.g.
//   inline constexpr bool generated = L::keras_base_name != "<kind>";
template <class L>
inline constexpr bool generated = true;

// Instantiated for the first layer of a model that the generator cannot generate: one error, naming its kind.
template <class L>
struct refuse_not_generated {
    static_assert(generated<L>, "nnfuse-gen: a layer kind is declared but not yet generated");
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
        d.inputs.assign(P::inputs.begin(), P::inputs.end());
        layers.push_back(std::move(d));
    });
    return layers;
}

// requires: every layer of the model is a kind the generator knows: the first that is not (a kind declared in the DSL
// before its generator module, detail::generated) is one static_assert naming it.
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
