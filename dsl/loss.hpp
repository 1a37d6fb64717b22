// nnfuse losses: what a model is trained to minimize, declared as the last argument of nnfuse::sequential.
//
//   nnfuse::sequential(nnfuse::input<13>, nnfuse::dense<8>(nnfuse::relu), nnfuse::dense<1>(),
//                      nnfuse::mean_squared_error)                    // Keras: compile(loss="mean_squared_error")
//   nnfuse::sequential(nnfuse::input<784>, nnfuse::dense<10>(nnfuse::softmax))   // no loss: a classifier,
//                                                                    // sparse_categorical_crossentropy
// Keras declares the loss apart, in model.compile(loss=...). Here it is the last argument because the model is a
// constexpr value whose type holds everything the generator knows: in that type, sequential() checks at compile
// time that the loss can train the layers before it, and decltype(model)::loss_type tells the generator and the
// trainer which loss kernel, targets and metric to use. A model without a loss must end in softmax and gets
// sparse categorical cross-entropy, which is what every nnfuse model meant before losses were declared.
//
// sparse_categorical_crossentropy: loss_r = -log(softmax(z_r)[label_r]), averaged over the batch; targets are
//   class ids (one integer per sample, 0 <= id < the output size); metric: accuracy (argmax == label, first
//   maximum on ties). requires: the last layer applies softmax (dense<n>(nnfuse::softmax) or
//   nnfuse::activation(nnfuse::softmax)); the generated code fuses that softmax with the loss (stable: it works
//   from the logits).
// mean_squared_error: loss_r = mean over the outputs of (y - t)^2, averaged over the batch (Keras: mean over the
//   last axis, then over the batch); targets are float vectors of the output size; metric: mean absolute error
//   (Keras's "mae", averaged the same way). requires: the last layer does not apply softmax.
// binary_crossentropy: loss_r = mean over the outputs of -t log s - (1 - t) log(1 - s), s = sigmoid(z), averaged
//   over the batch; targets are float vectors of the output size, each value in [0, 1] (0/1 labels, or soft);
//   metric: Keras's binary_accuracy (the share of outputs with t == (s > 0.5), averaged over the samples).
//   requires: the last layer applies sigmoid; the generated code fuses it with the loss (stable: it works from the
//   logits, as Keras does for a model ending in sigmoid). One sigmoid output is a binary classifier, several are
//   independent labels.
// categorical_crossentropy: loss_r = -sum_j t_j log softmax(z_r)_j, averaged over the batch; targets are float
//   vectors of the output size, each summing to 1 (one-hot or soft labels); metric: accuracy (Keras's categorical
//   accuracy, reported as "accuracy": the first argmax of the output equals the first argmax of the target).
//   requires: the last layer applies softmax, fused with the loss as for sparse_categorical_crossentropy.
// mean_absolute_error: loss_r = mean over the outputs of |y - t|, averaged over the batch (its gradient at
//   y == t is 0, as TensorFlow's); targets as for mean_squared_error; metric: "mae" (the loss itself).
//   requires: the last layer does not apply softmax.
// huber (Keras's "huber"; the class Huber names itself "huber_loss"): loss_r = mean over the outputs of h(y - t),
//   h(e) = e^2 / 2 if |e| <= delta else delta |e| - delta^2 / 2, averaged over the batch; delta 1 (Keras's
//   default) or huber_with_delta<d> for another; targets as for mean_squared_error; metric: "mae".
//   requires: delta > 0; the last layer does not apply softmax.
//
// A loss type provides: keras_name; target (target_kind) and targets_per_sample<Out> (values per sample for an
// output shape Out); metric (metric_kind) and metric_name (Keras's name in a training history); and
// check_last_layer<L>, a class whose instantiation static_asserts that the loss can train a model ending in L
// (the compiler's "required from" line then names both the loss and the layer).
#pragma once

#include <concepts>
#include <cstddef>
#include <limits>
#include <string_view>
#include <type_traits>

#include "dsl/activation.hpp"
#include "dsl/layer.hpp"
#include "dsl/target_kind.hpp"

namespace nnfuse {

// What training and evaluation report beside the loss.
enum class metric_kind {
    accuracy,             // share of samples whose argmax is the label (the target's argmax for float targets)
    mean_absolute_error,  // mean over outputs and samples of |y - t|
    binary_accuracy,      // mean over samples of the share of outputs with t == (prediction > 0.5)
};

struct sparse_categorical_crossentropy_t {
    static constexpr std::string_view keras_name = "sparse_categorical_crossentropy";
    static constexpr target_kind target = target_kind::class_id;
    template <class Out>
    static constexpr std::size_t targets_per_sample = 1;
    static constexpr metric_kind metric = metric_kind::accuracy;
    static constexpr std::string_view metric_name = "accuracy";

    template <class LastLayer>
    struct check_last_layer {
        static_assert(last_activation<LastLayer> == activation_kind::softmax,
                      "nnfuse::sparse_categorical_crossentropy: the last layer must end in softmax "
                      "(dense<n>(nnfuse::softmax) or nnfuse::activation(nnfuse::softmax)): the loss is the "
                      "cross-entropy of the class probabilities that softmax gives");
        static constexpr bool value = true;
    };
};

struct mean_squared_error_t {
    static constexpr std::string_view keras_name = "mean_squared_error";
    static constexpr target_kind target = target_kind::float_vector;
    template <class Out>
    static constexpr std::size_t targets_per_sample = Out::size;
    static constexpr metric_kind metric = metric_kind::mean_absolute_error;
    static constexpr std::string_view metric_name = "mae";

    template <class LastLayer>
    struct check_last_layer {
        static_assert(last_activation<LastLayer> != activation_kind::softmax,
                      "nnfuse::mean_squared_error: the last layer must not end in softmax: softmax outputs are "
                      "probabilities that sum to 1, they cannot follow real-valued targets; a classifier takes "
                      "nnfuse::sparse_categorical_crossentropy");
        static constexpr bool value = true;
    };
};

struct binary_crossentropy_t {
    static constexpr std::string_view keras_name = "binary_crossentropy";
    static constexpr target_kind target = target_kind::float_vector;
    template <class Out>
    static constexpr std::size_t targets_per_sample = Out::size;
    static constexpr metric_kind metric = metric_kind::binary_accuracy;
    static constexpr std::string_view metric_name = "binary_accuracy";

    template <class LastLayer>
    struct check_last_layer {
        static_assert(last_activation<LastLayer> == activation_kind::sigmoid,
                      "nnfuse::binary_crossentropy: the last layer must end in sigmoid "
                      "(dense<n>(nnfuse::sigmoid) or nnfuse::activation(nnfuse::sigmoid)): the loss is the "
                      "cross-entropy of the probabilities that sigmoid gives, one per output; classes that "
                      "exclude each other take softmax and nnfuse::categorical_crossentropy");
        static constexpr bool value = true;
    };
};

struct categorical_crossentropy_t {
    static constexpr std::string_view keras_name = "categorical_crossentropy";
    static constexpr target_kind target = target_kind::float_vector;
    template <class Out>
    static constexpr std::size_t targets_per_sample = Out::size;
    static constexpr metric_kind metric = metric_kind::accuracy;
    static constexpr std::string_view metric_name = "accuracy";

    template <class LastLayer>
    struct check_last_layer {
        static_assert(last_activation<LastLayer> == activation_kind::softmax,
                      "nnfuse::categorical_crossentropy: the last layer must end in softmax "
                      "(dense<n>(nnfuse::softmax) or nnfuse::activation(nnfuse::softmax)): the loss is the "
                      "cross-entropy of the class probabilities that softmax gives");
        static constexpr bool value = true;
    };
};

struct mean_absolute_error_t {
    static constexpr std::string_view keras_name = "mean_absolute_error";
    static constexpr target_kind target = target_kind::float_vector;
    template <class Out>
    static constexpr std::size_t targets_per_sample = Out::size;
    static constexpr metric_kind metric = metric_kind::mean_absolute_error;
    static constexpr std::string_view metric_name = "mae";

    template <class LastLayer>
    struct check_last_layer {
        static_assert(last_activation<LastLayer> != activation_kind::softmax,
                      "nnfuse::mean_absolute_error: the last layer must not end in softmax: softmax outputs are "
                      "probabilities that sum to 1, they cannot follow real-valued targets; a classifier takes "
                      "nnfuse::sparse_categorical_crossentropy or nnfuse::categorical_crossentropy");
        static constexpr bool value = true;
    };
};

// Delta is a template argument (a C++20 floating-point template parameter, as dropout's rate): a model is a type.
template <double Delta = 1.0>
struct huber_t {
    static_assert(Delta > 0.0 && Delta <= std::numeric_limits<double>::max(),
                  "nnfuse::huber_with_delta: delta must be > 0 and finite (where the loss turns from quadratic to "
                  "linear; Keras's default is 1.0)");
    static constexpr std::string_view keras_name = "huber";
    static constexpr double delta = Delta;
    static constexpr target_kind target = target_kind::float_vector;
    template <class Out>
    static constexpr std::size_t targets_per_sample = Out::size;
    static constexpr metric_kind metric = metric_kind::mean_absolute_error;
    static constexpr std::string_view metric_name = "mae";

    template <class LastLayer>
    struct check_last_layer {
        static_assert(last_activation<LastLayer> != activation_kind::softmax,
                      "nnfuse::huber: the last layer must not end in softmax: softmax outputs are probabilities "
                      "that sum to 1, they cannot follow real-valued targets; a classifier takes "
                      "nnfuse::sparse_categorical_crossentropy or nnfuse::categorical_crossentropy");
        static constexpr bool value = true;
    };
};

// The spellings: sequential(..., nnfuse::mean_squared_error), as an activation is dense<n>(nnfuse::elu);
// huber_with_delta<0.5> for a Huber loss with another delta (a double: 2.0, not 2).
inline constexpr sparse_categorical_crossentropy_t sparse_categorical_crossentropy{};
inline constexpr mean_squared_error_t mean_squared_error{};
inline constexpr binary_crossentropy_t binary_crossentropy{};
inline constexpr categorical_crossentropy_t categorical_crossentropy{};
inline constexpr mean_absolute_error_t mean_absolute_error{};
inline constexpr huber_t<> huber{};
template <double Delta>
inline constexpr huber_t<Delta> huber_with_delta{};

template <class L>
concept loss = std::is_empty_v<L> && requires {
    { L::keras_name } -> std::convertible_to<std::string_view>;
    { L::target } -> std::convertible_to<target_kind>;
    { L::metric } -> std::convertible_to<metric_kind>;
    { L::metric_name } -> std::convertible_to<std::string_view>;
};

}  // namespace nnfuse
