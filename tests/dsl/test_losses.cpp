// The loss declared with a model (dsl/loss.hpp) and the layer concept (dsl/layer.hpp). Refusals are compile-fail
// cases (tests/compile_fail: model_without_loss, crossentropy_needs_softmax, mse_refuses_softmax, loss_not_last,
// argument_not_a_layer, layer_without_output).
#include <catch2/catch.hpp>

#include <string_view>
#include <type_traits>

#include "dsl/nnfuse.hpp"
#include "samples/fashion_mnist/model.hpp"

using namespace std::string_view_literals;

namespace {

template <class Model>
using loss_of = typename std::remove_cvref_t<Model>::loss_type;

using crossentropy = nnfuse::sparse_categorical_crossentropy_t;
using mse = nnfuse::mean_squared_error_t;

}  // namespace

TEST_CASE("a model that ends in softmax and declares no loss is a classifier: sparse categorical cross-entropy",
          "[dsl][loss]") {
    STATIC_REQUIRE(std::is_same_v<loss_of<decltype(fashion_mnist::model)>, crossentropy>);
    STATIC_REQUIRE(std::is_same_v<loss_of<decltype(fashion_mnist::torch_model)>, crossentropy>);
    // softmax as its own Activation layer counts as well as Dense(..., softmax)
    constexpr auto separate =
        nnfuse::sequential(nnfuse::input<6>, nnfuse::dense<4>(), nnfuse::activation(nnfuse::softmax));
    STATIC_REQUIRE(std::is_same_v<loss_of<decltype(separate)>, crossentropy>);
    // Declaring the default gives the same model type: nothing else changes.
    constexpr auto declared =
        nnfuse::sequential(nnfuse::input<6>, nnfuse::dense<4>(), nnfuse::activation(nnfuse::softmax),
                           nnfuse::sparse_categorical_crossentropy);
    STATIC_REQUIRE(std::is_same_v<decltype(declared), decltype(separate)>);
}

TEST_CASE("sparse categorical cross-entropy: Keras's name, class-id targets, accuracy", "[dsl][loss]") {
    using M = std::remove_cvref_t<decltype(fashion_mnist::model)>;
    STATIC_REQUIRE(crossentropy::keras_name == "sparse_categorical_crossentropy"sv);
    STATIC_REQUIRE(crossentropy::target == nnfuse::target_kind::class_id);
    STATIC_REQUIRE(crossentropy::metric == nnfuse::metric_kind::accuracy);
    STATIC_REQUIRE(crossentropy::metric_name == "accuracy"sv);
    STATIC_REQUIRE(M::targets_per_sample == 1);  // one class id per image, though 10 outputs
}

TEST_CASE("mean squared error: a regression model's loss, float targets per output, MAE", "[dsl][loss]") {
    constexpr auto regression = nnfuse::sequential(nnfuse::input<10>, nnfuse::dense<8>(nnfuse::relu),
                                                   nnfuse::dense<3>(), nnfuse::mean_squared_error);
    using M = decltype(regression);
    STATIC_REQUIRE(std::is_same_v<M::loss_type, mse>);
    STATIC_REQUIRE(mse::keras_name == "mean_squared_error"sv);
    STATIC_REQUIRE(mse::target == nnfuse::target_kind::float_vector);
    STATIC_REQUIRE(mse::metric == nnfuse::metric_kind::mean_absolute_error);
    STATIC_REQUIRE(mse::metric_name == "mae"sv);
    STATIC_REQUIRE(M::targets_per_sample == 3);
    // The loss is no layer: two layers, Keras's counts unchanged.
    STATIC_REQUIRE(M::layer_count == 2);
    STATIC_REQUIRE(nnfuse::total_params(regression) == 10 * 8 + 8 + 8 * 3 + 3);
    STATIC_REQUIRE(std::is_same_v<M::output_shape, nnfuse::shape<3>>);
    // Any last activation but softmax: sigmoid for targets in (0, 1), after a standalone Activation, after BN.
    constexpr auto bounded = nnfuse::sequential(nnfuse::input<10>, nnfuse::dense<2>(),
                                                nnfuse::activation(nnfuse::sigmoid), nnfuse::mean_squared_error);
    STATIC_REQUIRE(decltype(bounded)::targets_per_sample == 2);
    constexpr auto normalized =
        nnfuse::sequential(nnfuse::input<5, 4>, nnfuse::batch_norm(), nnfuse::mean_squared_error);
    STATIC_REQUIRE(decltype(normalized)::targets_per_sample == 20);
}

TEST_CASE("the layer concept: every layer kind models it; tags, losses and inputs do not", "[dsl][layer]") {
    STATIC_REQUIRE(nnfuse::layer<nnfuse::flatten_layer>);
    STATIC_REQUIRE(nnfuse::layer<nnfuse::dense_layer<3>>);
    STATIC_REQUIRE(nnfuse::layer<decltype(nnfuse::batch_norm<nnfuse::torch_bn>())>);
    STATIC_REQUIRE(nnfuse::layer<nnfuse::activation_layer<nnfuse::activation_kind::tanh>>);
    STATIC_REQUIRE(nnfuse::layer<nnfuse::dropout_layer<0.5>>);
    STATIC_REQUIRE(nnfuse::layer_for<nnfuse::dense_layer<3>, nnfuse::shape<7>>);
    STATIC_REQUIRE(nnfuse::layer_for<nnfuse::dropout_layer<0.5>, nnfuse::shape<5, 3>>);
    STATIC_REQUIRE_FALSE(nnfuse::layer<decltype(nnfuse::relu)>);
    STATIC_REQUIRE_FALSE(nnfuse::layer<decltype(nnfuse::input<4>)>);
    STATIC_REQUIRE_FALSE(nnfuse::layer<mse>);
    STATIC_REQUIRE(nnfuse::loss<mse>);
    STATIC_REQUIRE(nnfuse::loss<crossentropy>);
    STATIC_REQUIRE_FALSE(nnfuse::loss<nnfuse::dense_layer<3>>);

    // last_activation: what the loss checks
    STATIC_REQUIRE(nnfuse::last_activation<nnfuse::dense_layer<3, nnfuse::activation_kind::softmax>> ==
                   nnfuse::activation_kind::softmax);
    STATIC_REQUIRE(nnfuse::last_activation<nnfuse::dense_layer<3>> == nnfuse::activation_kind::linear);
    STATIC_REQUIRE(nnfuse::last_activation<nnfuse::flatten_layer> == nnfuse::activation_kind::linear);
    STATIC_REQUIRE(nnfuse::last_activation<nnfuse::dropout_layer<0.5>> == nnfuse::activation_kind::linear);
}
