// nnfuse::codegen::loss_description: what the generator knows about a model's loss (dsl/loss.hpp).
//
// describe_loss(model) reads decltype(model)::loss_type (the declared loss, or sparse categorical cross-entropy for
// a model that declares none) and returns it as a run-time value, as describe() does for the layers.
// ensures: each loss's kind-specific facts are one alternative of loss_description::parameters; the variant's
// alternatives are the one list of the losses the generator knows (codegen/losses/ has a module for each).
#pragma once

#include <cstddef>
#include <string>
#include <variant>

#include "dsl/loss.hpp"

namespace nnfuse::codegen {

struct sparse_categorical_crossentropy_parameters {};
struct categorical_crossentropy_parameters {};
struct binary_crossentropy_parameters {};
struct mean_squared_error_parameters {};
struct mean_absolute_error_parameters {};
struct huber_parameters {
    double delta = 1.0;
};

using loss_parameters = std::variant<sparse_categorical_crossentropy_parameters, categorical_crossentropy_parameters,
                                     binary_crossentropy_parameters, mean_squared_error_parameters,
                                     mean_absolute_error_parameters, huber_parameters>;

struct loss_description {
    std::string keras_name;  // "sparse_categorical_crossentropy"
    target_kind target = target_kind::class_id;
    std::size_t targets_per_sample = 1;  // 1 class id, or one float per output
    metric_kind metric = metric_kind::accuracy;
    std::string metric_name;  // Keras's name in a history: "accuracy", "mae"
    loss_parameters parameters;
};

namespace detail {

template <class Loss>
struct loss_parameters_of;
template <>
struct loss_parameters_of<sparse_categorical_crossentropy_t> {
    static loss_parameters get() { return sparse_categorical_crossentropy_parameters{}; }
};
template <>
struct loss_parameters_of<categorical_crossentropy_t> {
    static loss_parameters get() { return categorical_crossentropy_parameters{}; }
};
template <>
struct loss_parameters_of<binary_crossentropy_t> {
    static loss_parameters get() { return binary_crossentropy_parameters{}; }
};
template <>
struct loss_parameters_of<mean_squared_error_t> {
    static loss_parameters get() { return mean_squared_error_parameters{}; }
};
template <>
struct loss_parameters_of<mean_absolute_error_t> {
    static loss_parameters get() { return mean_absolute_error_parameters{}; }
};
template <double Delta>
struct loss_parameters_of<huber_t<Delta>> {
    static loss_parameters get() { return huber_parameters{Delta}; }
};

}  // namespace detail

template <class Model>
loss_description describe_loss(const Model&) {
    using Loss = typename Model::loss_type;
    // A loss without a loss_parameters_of specialization is an incomplete type here: a compile error.
    return {.keras_name = std::string(Loss::keras_name),
            .target = Loss::target,
            .targets_per_sample = Model::targets_per_sample,
            .metric = Loss::metric,
            .metric_name = std::string(Loss::metric_name),
            .parameters = detail::loss_parameters_of<Loss>::get()};
}

// The loss of a model that declares none (the DSL's default), for plans made from layers alone.
inline loss_description default_loss() {
    using Loss = sparse_categorical_crossentropy_t;
    return {.keras_name = std::string(Loss::keras_name),
            .target = Loss::target,
            .targets_per_sample = 1,
            .metric = Loss::metric,
            .metric_name = std::string(Loss::metric_name),
            .parameters = sparse_categorical_crossentropy_parameters{}};
}

}  // namespace nnfuse::codegen
