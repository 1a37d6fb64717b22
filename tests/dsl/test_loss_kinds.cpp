// The losses of issue 18 declared with a model (dsl/loss.hpp): binary and categorical cross-entropy, mean absolute
// error and Huber, with Keras's names, their targets and metrics. Refusals are compile-fail cases
// (tests/compile_fail: binary_crossentropy_needs_sigmoid, categorical_crossentropy_needs_softmax,
// mae_refuses_softmax, huber_refuses_softmax, huber_delta_positive).
#include <catch2/catch.hpp>

#include <string_view>
#include <type_traits>

#include "dsl/nnfuse.hpp"

using namespace std::string_view_literals;

TEST_CASE("binary cross-entropy: a model ending in sigmoid, float targets per output, binary_accuracy", "[dsl][loss]") {
    using bce = nnfuse::binary_crossentropy_t;
    constexpr auto classifier = nnfuse::sequential(nnfuse::input<30>, nnfuse::dense<16>(nnfuse::relu),
                                                   nnfuse::dense<1>(nnfuse::sigmoid), nnfuse::binary_crossentropy);
    using M = decltype(classifier);
    STATIC_REQUIRE(std::is_same_v<M::loss_type, bce>);
    STATIC_REQUIRE(nnfuse::loss<bce>);
    STATIC_REQUIRE(bce::keras_name == "binary_crossentropy"sv);
    STATIC_REQUIRE(bce::target == nnfuse::target_kind::float_vector);
    STATIC_REQUIRE(bce::metric == nnfuse::metric_kind::binary_accuracy);
    STATIC_REQUIRE(bce::metric_name == "binary_accuracy"sv);
    STATIC_REQUIRE(M::targets_per_sample == 1);
    STATIC_REQUIRE(M::layer_count == 2);
    // Several independent labels, sigmoid as its own Activation layer after BN (BN before the activation).
    constexpr auto labels =
        nnfuse::sequential(nnfuse::input<8>, nnfuse::dense<5>(nnfuse::no_bias), nnfuse::batch_norm(),
                           nnfuse::activation(nnfuse::sigmoid), nnfuse::binary_crossentropy);
    STATIC_REQUIRE(decltype(labels)::targets_per_sample == 5);
}

TEST_CASE("categorical cross-entropy: a model ending in softmax, a float target per class, accuracy", "[dsl][loss]") {
    using cce = nnfuse::categorical_crossentropy_t;
    constexpr auto classifier =
        nnfuse::sequential(nnfuse::input<13>, nnfuse::dense<3>(nnfuse::softmax), nnfuse::categorical_crossentropy);
    using M = decltype(classifier);
    STATIC_REQUIRE(std::is_same_v<M::loss_type, cce>);
    STATIC_REQUIRE(nnfuse::loss<cce>);
    STATIC_REQUIRE(cce::keras_name == "categorical_crossentropy"sv);
    STATIC_REQUIRE(cce::target == nnfuse::target_kind::float_vector);
    // Keras reports categorical accuracy as "accuracy"; the sparse loss's metric kind, with target argmaxes.
    STATIC_REQUIRE(cce::metric == nnfuse::metric_kind::accuracy);
    STATIC_REQUIRE(cce::metric_name == "accuracy"sv);
    STATIC_REQUIRE(M::targets_per_sample == 3);  // one value per class, unlike the sparse loss's one class id
    // Not the default: a softmax model without a declared loss stays sparse.
    constexpr auto undeclared = nnfuse::sequential(nnfuse::input<13>, nnfuse::dense<3>(nnfuse::softmax));
    STATIC_REQUIRE(!std::is_same_v<decltype(undeclared), M>);
}

TEST_CASE("mean absolute error and Huber: regression losses reporting mae", "[dsl][loss]") {
    using mae = nnfuse::mean_absolute_error_t;
    constexpr auto regression = nnfuse::sequential(nnfuse::input<10>, nnfuse::dense<8>(nnfuse::elu), nnfuse::dense<2>(),
                                                   nnfuse::mean_absolute_error);
    STATIC_REQUIRE(std::is_same_v<decltype(regression)::loss_type, mae>);
    STATIC_REQUIRE(nnfuse::loss<mae>);
    STATIC_REQUIRE(mae::keras_name == "mean_absolute_error"sv);
    STATIC_REQUIRE(mae::target == nnfuse::target_kind::float_vector);
    STATIC_REQUIRE(mae::metric == nnfuse::metric_kind::mean_absolute_error);
    STATIC_REQUIRE(mae::metric_name == "mae"sv);
    STATIC_REQUIRE(decltype(regression)::targets_per_sample == 2);

    constexpr auto robust = nnfuse::sequential(nnfuse::input<10>, nnfuse::dense<1>(), nnfuse::huber);
    using huber = decltype(robust)::loss_type;
    STATIC_REQUIRE(std::is_same_v<huber, nnfuse::huber_t<1.0>>);
    STATIC_REQUIRE(nnfuse::loss<huber>);
    STATIC_REQUIRE(huber::keras_name == "huber"sv);
    STATIC_REQUIRE(huber::delta == 1.0);  // Keras's default
    STATIC_REQUIRE(huber::target == nnfuse::target_kind::float_vector);
    STATIC_REQUIRE(huber::metric == nnfuse::metric_kind::mean_absolute_error);
    STATIC_REQUIRE(huber::metric_name == "mae"sv);
    constexpr auto tighter = nnfuse::sequential(nnfuse::input<10>, nnfuse::dense<1>(), nnfuse::huber_with_delta<0.25>);
    STATIC_REQUIRE(decltype(tighter)::loss_type::delta == 0.25);
    STATIC_REQUIRE(!std::is_same_v<decltype(tighter), decltype(robust)>);  // delta is part of the model's type
}
