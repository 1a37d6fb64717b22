// The reference model: shapes, counts and names as Keras reports them (docs/design.md, "The reference model").
#include <catch2/catch.hpp>

#include <string_view>
#include <type_traits>

#include "samples/fashion_mnist/model.hpp"

using namespace std::string_view_literals;
using Model = std::remove_cvref_t<decltype(fashion_mnist::model)>;

template <std::size_t I>
using layer_at = std::remove_cvref_t<decltype(boost::hana::at_c<I>(Model::layers))>;

TEST_CASE("reference model: counts are Keras's", "[dsl]") {
    STATIC_REQUIRE(nnfuse::total_params(fashion_mnist::model) == 19046);
    STATIC_REQUIRE(nnfuse::trainable_params(fashion_mnist::model) == 17478);
    STATIC_REQUIRE(nnfuse::non_trainable_params(fashion_mnist::model) == 1568);
    STATIC_REQUIRE(layer_at<0>::params == 0);
    STATIC_REQUIRE(layer_at<1>::params == 4 * 784);
    STATIC_REQUIRE(layer_at<1>::trainable_params == 2 * 784);
    STATIC_REQUIRE(layer_at<2>::params == 784 * 20 + 20);
    STATIC_REQUIRE(layer_at<3>::params == 20 * 10 + 10);
}

TEST_CASE("reference model: shapes", "[dsl]") {
    STATIC_REQUIRE(Model::layer_count == 4);
    STATIC_REQUIRE(std::is_same_v<Model::input_shape, nnfuse::shape<28, 28>>);
    STATIC_REQUIRE(std::is_same_v<layer_at<0>::output_shape, nnfuse::shape<784>>);
    STATIC_REQUIRE(std::is_same_v<layer_at<1>::output_shape, nnfuse::shape<784>>);
    STATIC_REQUIRE(std::is_same_v<layer_at<2>::output_shape, nnfuse::shape<20>>);
    STATIC_REQUIRE(std::is_same_v<Model::output_shape, nnfuse::shape<10>>);
    STATIC_REQUIRE(layer_at<1>::output_shape::keras_text() == "(None, 784)"sv);
}

TEST_CASE("reference model: Keras layer names", "[dsl]") {
    STATIC_REQUIRE(layer_at<0>::name == "flatten"sv);
    STATIC_REQUIRE(layer_at<1>::name == "batch_normalization"sv);
    STATIC_REQUIRE(layer_at<2>::name == "dense"sv);
    STATIC_REQUIRE(layer_at<3>::name == "dense_1"sv);
}

TEST_CASE("reference model: variables in Keras's order, names and trainability", "[dsl]") {
    constexpr auto bn = layer_at<1>::variables;
    STATIC_REQUIRE(bn.size() == 4);
    STATIC_REQUIRE(bn[0].name == "batch_normalization/gamma:0"sv);
    STATIC_REQUIRE(bn[1].name == "batch_normalization/beta:0"sv);
    STATIC_REQUIRE(bn[2].name == "batch_normalization/moving_mean:0"sv);
    STATIC_REQUIRE(bn[3].name == "batch_normalization/moving_variance:0"sv);
    STATIC_REQUIRE(bn[0].trainable);
    STATIC_REQUIRE(bn[1].trainable);
    STATIC_REQUIRE_FALSE(bn[2].trainable);
    STATIC_REQUIRE_FALSE(bn[3].trainable);
    for (const auto& v : bn) {
        CHECK(v.rank == 1);
        CHECK(v.dims[0] == 784);
    }

    constexpr auto dense = layer_at<2>::variables;
    STATIC_REQUIRE(dense.size() == 2);
    STATIC_REQUIRE(dense[0].name == "dense/kernel:0"sv);
    STATIC_REQUIRE(dense[0].rank == 2);
    STATIC_REQUIRE(dense[0].dims[0] == 784);
    STATIC_REQUIRE(dense[0].dims[1] == 20);
    STATIC_REQUIRE(dense[1].name == "dense/bias:0"sv);
    STATIC_REQUIRE(dense[1].dims[0] == 20);
    STATIC_REQUIRE(layer_at<3>::variables[0].name == "dense_1/kernel:0"sv);
}

TEST_CASE("reference model: Keras BN defaults", "[dsl]") {
    using bn = layer_at<1>::layer_type;
    STATIC_REQUIRE(bn::profile == nnfuse::bn_profile::keras);
    STATIC_REQUIRE(bn::momentum == 0.99);
    STATIC_REQUIRE(bn::epsilon == 1e-3);
    STATIC_REQUIRE(bn::center);
    STATIC_REQUIRE(bn::scale);
    STATIC_REQUIRE(bn::trainable);
}

TEST_CASE("reference model: Keras's default initializers", "[dsl]") {
    // Keras: BatchNormalization gamma "ones", beta "zeros", moving_mean "zeros", moving_variance "ones";
    // Dense kernel "glorot_uniform", bias "zeros".
    using nnfuse::initializer;
    constexpr auto bn = layer_at<1>::variables;
    STATIC_REQUIRE(bn[0].init == initializer::ones);
    STATIC_REQUIRE(bn[1].init == initializer::zeros);
    STATIC_REQUIRE(bn[2].init == initializer::zeros);
    STATIC_REQUIRE(bn[3].init == initializer::ones);
    STATIC_REQUIRE(layer_at<2>::variables[0].init == initializer::glorot_uniform);
    STATIC_REQUIRE(layer_at<2>::variables[1].init == initializer::zeros);
    STATIC_REQUIRE(layer_at<3>::variables[0].init == initializer::glorot_uniform);
    STATIC_REQUIRE(layer_at<3>::variables[1].init == initializer::zeros);
    STATIC_REQUIRE(nnfuse::keras_name(initializer::glorot_uniform) == "glorot_uniform"sv);
}
