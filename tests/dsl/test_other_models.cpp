// Shapes, counts and names for models other than the reference one.
#include <catch2/catch.hpp>

#include <string_view>
#include <type_traits>

#include "dsl/nnfuse.hpp"

using namespace std::string_view_literals;

template <class Model, std::size_t I>
using layer_at = std::remove_cvref_t<decltype(boost::hana::at_c<I>(Model::layers))>;

TEST_CASE("BN before the activation: dense(no_bias) -> batch_norm -> activation(elu)", "[dsl]") {
    constexpr auto model =
        nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::flatten(), nnfuse::dense<20>(nnfuse::no_bias),
                           nnfuse::batch_norm(), nnfuse::activation(nnfuse::elu), nnfuse::dense<10>(nnfuse::softmax));
    using M = decltype(model);
    constexpr std::size_t dense = 784 * 20, bn = 4 * 20, head = 20 * 10 + 10;
    STATIC_REQUIRE(nnfuse::total_params(model) == dense + bn + head);
    STATIC_REQUIRE(nnfuse::trainable_params(model) == dense + bn / 2 + head);
    STATIC_REQUIRE(nnfuse::non_trainable_params(model) == bn / 2);
    STATIC_REQUIRE(layer_at<M, 1>::variables.size() == 1);  // no bias variable
    STATIC_REQUIRE(layer_at<M, 1>::variables[0].name == "dense/kernel:0"sv);
    STATIC_REQUIRE(layer_at<M, 3>::name == "activation"sv);
    STATIC_REQUIRE(layer_at<M, 3>::layer_type::activation == nnfuse::activation_kind::elu);
    STATIC_REQUIRE(layer_at<M, 4>::name == "dense_1"sv);
}

TEST_CASE("two BN layers are numbered as Keras numbers them", "[dsl]") {
    constexpr auto model = nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::flatten(), nnfuse::batch_norm(),
                                              nnfuse::dense<64>(nnfuse::relu), nnfuse::batch_norm(),
                                              nnfuse::dense<10>(nnfuse::softmax), nnfuse::activation(nnfuse::linear),
                                              nnfuse::activation(nnfuse::linear), nnfuse::mean_squared_error);
    using M = decltype(model);
    STATIC_REQUIRE(layer_at<M, 1>::name == "batch_normalization"sv);
    STATIC_REQUIRE(layer_at<M, 3>::name == "batch_normalization_1"sv);
    STATIC_REQUIRE(layer_at<M, 3>::variables[3].name == "batch_normalization_1/moving_variance:0"sv);
    STATIC_REQUIRE(layer_at<M, 6>::name == "activation_1"sv);
    STATIC_REQUIRE(layer_at<M, 3>::params == 4 * 64);
    STATIC_REQUIRE(nnfuse::total_params(model) == 4 * 784 + 784 * 64 + 64 + 4 * 64 + 64 * 10 + 10);
    STATIC_REQUIRE(nnfuse::non_trainable_params(model) == 2 * 784 + 2 * 64);
}

TEST_CASE("odd feature count 37, BN options and the torch profile", "[dsl]") {
    constexpr auto model =
        nnfuse::sequential(nnfuse::input<37>, nnfuse::batch_norm<{.center = false}>(), nnfuse::dense<7>(nnfuse::tanh),
                           nnfuse::batch_norm<nnfuse::torch_bn>(), nnfuse::dense<3>(nnfuse::sigmoid, nnfuse::no_bias),
                           nnfuse::mean_squared_error);
    using M = decltype(model);
    using bn0 = layer_at<M, 0>;
    STATIC_REQUIRE(bn0::variables.size() == 3);  // center=false drops beta
    STATIC_REQUIRE(bn0::variables[0].name == "batch_normalization/gamma:0"sv);
    STATIC_REQUIRE(bn0::variables[1].name == "batch_normalization/moving_mean:0"sv);
    STATIC_REQUIRE(bn0::variables[0].init == nnfuse::initializer::ones);   // gamma
    STATIC_REQUIRE(bn0::variables[1].init == nnfuse::initializer::zeros);  // moving_mean
    STATIC_REQUIRE(bn0::trainable_params == 37);
    STATIC_REQUIRE(bn0::non_trainable_params == 2 * 37);

    using torch = layer_at<M, 2>::layer_type;
    STATIC_REQUIRE(torch::profile == nnfuse::bn_profile::torch);
    STATIC_REQUIRE(torch::momentum == 0.1);
    STATIC_REQUIRE(torch::epsilon == 1e-5);
    STATIC_REQUIRE(nnfuse::total_params(model) == 3 * 37 + 37 * 7 + 7 + 4 * 7 + 7 * 3);
    STATIC_REQUIRE(std::is_same_v<M::output_shape, nnfuse::shape<3>>);
}

TEST_CASE("a frozen BN layer has no trainable variables", "[dsl]") {
    constexpr auto model = nnfuse::sequential(nnfuse::input<16>, nnfuse::batch_norm<{.trainable = false}>(),
                                              nnfuse::dense<2>(), nnfuse::mean_squared_error);
    STATIC_REQUIRE(nnfuse::non_trainable_params(model) == 4 * 16);
    STATIC_REQUIRE(nnfuse::trainable_params(model) == 16 * 2 + 2);
}

TEST_CASE("BN on a rank-2 sample normalizes its last axis, as Keras's axis=-1", "[dsl]") {
    constexpr auto model = nnfuse::sequential(nnfuse::input<5, 3>, nnfuse::batch_norm(), nnfuse::flatten(),
                                              nnfuse::dense<4>(), nnfuse::mean_squared_error);
    using M = decltype(model);
    using bn = layer_at<M, 0>;
    STATIC_REQUIRE(bn::params == 4 * 3);
    STATIC_REQUIRE(bn::input_shape::features == 3);
    STATIC_REQUIRE(bn::input_shape::rows_per_sample == 5);
    STATIC_REQUIRE(bn::output_shape::keras_text() == "(None, 5, 3)"sv);
}

TEST_CASE("custom momentum, epsilon and cumulative average are kept", "[dsl]") {
    using keras = decltype(nnfuse::batch_norm<{.momentum = 0.9, .epsilon = 1e-5}>());
    STATIC_REQUIRE(keras::momentum == 0.9);
    STATIC_REQUIRE(keras::epsilon == 1e-5);
    using cumulative =
        decltype(nnfuse::batch_norm<{.profile = nnfuse::bn_profile::torch, .cumulative_average = true}>());
    STATIC_REQUIRE(cumulative::cumulative_average);
}

TEST_CASE("dropout: Keras's Dropout, no variables, the input's shape, numbered like other layers", "[dsl][dropout]") {
    constexpr auto model =
        nnfuse::sequential(nnfuse::input<5, 3>, nnfuse::dropout<0.25>(), nnfuse::flatten(),
                           nnfuse::dense<20>(nnfuse::relu), nnfuse::dropout<0.5>(), nnfuse::dense<4>(nnfuse::softmax));
    using M = decltype(model);
    using first = layer_at<M, 0>;
    STATIC_REQUIRE(first::name == "dropout"sv);
    STATIC_REQUIRE(first::layer_type::keras_class == "Dropout"sv);
    STATIC_REQUIRE(first::layer_type::rate == 0.25);
    STATIC_REQUIRE(std::is_same_v<first::output_shape, nnfuse::shape<5, 3>>);
    STATIC_REQUIRE(first::variables.size() == 0);
    STATIC_REQUIRE(first::params == 0);
    using second = layer_at<M, 3>;
    STATIC_REQUIRE(second::name == "dropout_1"sv);
    STATIC_REQUIRE(second::layer_type::rate == 0.5);
    STATIC_REQUIRE(std::is_same_v<second::output_shape, nnfuse::shape<20>>);
    STATIC_REQUIRE(nnfuse::total_params(model) == 15 * 20 + 20 + 20 * 4 + 4);
    // rate 0 is allowed: Keras's Dropout(0.0), the identity
    constexpr auto identity =
        nnfuse::sequential(nnfuse::input<3>, nnfuse::dropout<0.0>(), nnfuse::dense<2>(nnfuse::softmax));
    STATIC_REQUIRE(layer_at<decltype(identity), 0>::layer_type::rate == 0.0);
}

TEST_CASE("dropout before a classifier's head or in a regression model", "[dsl][dropout]") {
    constexpr auto model =
        nnfuse::sequential(nnfuse::input<8>, nnfuse::dropout<0.2>(), nnfuse::dense<3>(nnfuse::softmax));
    STATIC_REQUIRE(std::is_same_v<decltype(model)::loss_type, nnfuse::sparse_categorical_crossentropy_t>);
    constexpr auto regression =
        nnfuse::sequential(nnfuse::input<8>, nnfuse::dense<3>(), nnfuse::dropout<0.2>(), nnfuse::mean_squared_error);
    STATIC_REQUIRE(std::is_same_v<decltype(regression)::loss_type, nnfuse::mean_squared_error_t>);
}
