// The convolutional layers of the DSL (issue 20): reshape, conv2d, max/average/global-average pooling, batch_norm
// over channels. Every expected shape and count below is Keras's formula worked by hand, not read from the code:
//   valid: floor((n - k) / s) + 1    same: ceil(n / s)    Conv2D params: kh*kw*cin*filters (+ filters with bias)
#include <catch2/catch.hpp>

#include <cstddef>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "dsl/nnfuse.hpp"

using namespace std::string_view_literals;
using nnfuse::shape;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// input<28,28> -> reshape<28,28,1> -> conv2d<32,3,3>(no_bias) -> BN -> relu -> max_pool2d<2,2>
//   -> conv2d<64,3,3>(same) -> global_average_pool2d -> dense<10>(softmax)
constexpr auto cnn =
    nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::reshape<28, 28, 1>(), nnfuse::conv2d<32, 3, 3>(nnfuse::no_bias),
                       nnfuse::batch_norm(), nnfuse::activation(nnfuse::relu), nnfuse::max_pool2d<2, 2>(),
                       nnfuse::conv2d<64, 3, 3>(nnfuse::same_padding), nnfuse::global_average_pool2d(),
                       nnfuse::dense<10>(nnfuse::softmax));
template <class Model, std::size_t I>
using layer_at = std::remove_cvref_t<decltype(boost::hana::at_c<I>(std::remove_cvref_t<Model>::layers))>;
using cnn_t = std::remove_cvref_t<decltype(cnn)>;
template <std::size_t I>
using cnn_layer = layer_at<cnn_t, I>;

// Hand-worked Keras values for that model.
constexpr std::size_t conv1_hw = (28 - 3) / 1 + 1;          // 26, valid
constexpr std::size_t pool_hw = (conv1_hw - 2) / 2 + 1;     // 13, strides = pool size
constexpr std::size_t conv2_hw = (pool_hw + 1 - 1) / 1;     // 13, same at stride 1
constexpr std::size_t conv1_params = 3 * 3 * 1 * 32;        // 288, no bias
constexpr std::size_t bn_params = 4 * 32;                   // 128: gamma, beta, moving mean and variance
constexpr std::size_t conv2_params = 3 * 3 * 32 * 64 + 64;  // 18496
constexpr std::size_t dense_params = 64 * 10 + 10;          // 650
constexpr std::size_t total = conv1_params + bn_params + conv2_params + dense_params;  // 19562
constexpr std::size_t non_trainable = 2 * 32;                                          // 64: the moving statistics

}  // namespace

TEST_CASE("conv model: output shapes as Keras computes them", "[dsl][conv]") {
    STATIC_REQUIRE(std::is_same_v<cnn_layer<0>::output_shape, shape<28, 28, 1>>);
    STATIC_REQUIRE(std::is_same_v<cnn_layer<1>::output_shape, shape<conv1_hw, conv1_hw, 32>>);
    STATIC_REQUIRE(std::is_same_v<cnn_layer<2>::output_shape, shape<conv1_hw, conv1_hw, 32>>);
    STATIC_REQUIRE(std::is_same_v<cnn_layer<3>::output_shape, shape<conv1_hw, conv1_hw, 32>>);
    STATIC_REQUIRE(std::is_same_v<cnn_layer<4>::output_shape, shape<pool_hw, pool_hw, 32>>);
    STATIC_REQUIRE(std::is_same_v<cnn_layer<5>::output_shape, shape<conv2_hw, conv2_hw, 64>>);
    STATIC_REQUIRE(std::is_same_v<cnn_layer<6>::output_shape, shape<64>>);
    STATIC_REQUIRE(std::is_same_v<cnn_t::output_shape, shape<10>>);
}

TEST_CASE("conv model: parameter counts as Keras", "[dsl][conv]") {
    STATIC_REQUIRE(cnn_layer<0>::params == 0);
    STATIC_REQUIRE(cnn_layer<1>::params == conv1_params);
    STATIC_REQUIRE(cnn_layer<2>::params == bn_params);
    STATIC_REQUIRE(cnn_layer<2>::non_trainable_params == non_trainable);
    STATIC_REQUIRE(cnn_layer<4>::params == 0);
    STATIC_REQUIRE(cnn_layer<5>::params == conv2_params);
    STATIC_REQUIRE(cnn_layer<6>::params == 0);
    STATIC_REQUIRE(cnn_layer<7>::params == dense_params);
    STATIC_REQUIRE(nnfuse::total_params(cnn) == total);
    STATIC_REQUIRE(total == 19562);
    STATIC_REQUIRE(nnfuse::trainable_params(cnn) == total - non_trainable);
    STATIC_REQUIRE(nnfuse::non_trainable_params(cnn) == non_trainable);
}

TEST_CASE("conv model: Keras names", "[dsl][conv]") {
    STATIC_REQUIRE(cnn_layer<0>::name.view() == "reshape"sv);
    STATIC_REQUIRE(cnn_layer<1>::name.view() == "conv2d"sv);
    STATIC_REQUIRE(cnn_layer<4>::name.view() == "max_pooling2d"sv);
    STATIC_REQUIRE(cnn_layer<5>::name.view() == "conv2d_1"sv);
    STATIC_REQUIRE(cnn_layer<6>::name.view() == "global_average_pooling2d"sv);
    STATIC_REQUIRE(cnn_layer<7>::name.view() == "dense"sv);
    constexpr auto pools =
        nnfuse::sequential(nnfuse::input<8, 8, 2>, nnfuse::average_pool2d<2, 2>(), nnfuse::average_pool2d<2, 2>(),
                           nnfuse::max_pool2d<2, 2>(), nnfuse::flatten(), nnfuse::dense<3>(nnfuse::softmax));
    using pools_t = std::remove_cvref_t<decltype(pools)>;
    STATIC_REQUIRE(layer_at<pools_t, 0>::name.view() == "average_pooling2d"sv);
    STATIC_REQUIRE(layer_at<pools_t, 1>::name.view() == "average_pooling2d_1"sv);
    STATIC_REQUIRE(layer_at<pools_t, 2>::name.view() == "max_pooling2d"sv);
    STATIC_REQUIRE(std::is_same_v<layer_at<pools_t, 2>::output_shape, shape<1, 1, 2>>);
}

TEST_CASE("conv model: summary as Keras's model.summary()", "[dsl][conv][summary]") {
    // Keras 2.6's print_row: stops at 29/55/65, each field cut one short of its stop, rows padded to 65.
    const std::vector<std::string> expected = {
        R"(Model: "sequential")",
        "_________________________________________________________________",
        "Layer (type)                 Output Shape              Param #   ",
        "=================================================================",
        "reshape (Reshape)            (None, 28, 28, 1)         0         ",
        "_________________________________________________________________",
        "conv2d (Conv2D)              (None, 26, 26, 32)        288       ",
        "_________________________________________________________________",
        "batch_normalization (BatchNo (None, 26, 26, 32)        128       ",
        "_________________________________________________________________",
        "activation (Activation)      (None, 26, 26, 32)        0         ",
        "_________________________________________________________________",
        "max_pooling2d (MaxPooling2D) (None, 13, 13, 32)        0         ",
        "_________________________________________________________________",
        "conv2d_1 (Conv2D)            (None, 13, 13, 64)        18496     ",
        "_________________________________________________________________",
        "global_average_pooling2d (Gl (None, 64)                0         ",
        "_________________________________________________________________",
        "dense (Dense)                (None, 10)                650       ",
        "=================================================================",
        "Total params: 19,562",
        "Trainable params: 19,498",
        "Non-trainable params: 64",
        "_________________________________________________________________",
    };
    const auto actual = lines_of(nnfuse::summary(cnn));
    REQUIRE(actual.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        INFO("line " << i + 1);
        CHECK(actual[i] == expected[i]);
    }
}

TEST_CASE("conv2d variables: Keras names, shapes, initializers and fans", "[dsl][conv]") {
    CHECK(nnfuse::variables_listing(cnn, "conv2d") == "conv2d/kernel:0 (3, 3, 1, 32) True\n");
    CHECK(nnfuse::variables_listing(cnn, "conv2d_1") ==
          "conv2d_1/kernel:0 (3, 3, 32, 64) True\nconv2d_1/bias:0 (64,) True\n");
    CHECK(nnfuse::variables_listing(cnn, "batch_normalization") ==
          "batch_normalization/gamma:0 (32,) True\nbatch_normalization/beta:0 (32,) True\n"
          "batch_normalization/moving_mean:0 (32,) False\nbatch_normalization/moving_variance:0 (32,) False\n");
    constexpr auto kernel = cnn_layer<5>::variables[0];
    STATIC_REQUIRE(kernel.rank == 4);
    STATIC_REQUIRE(kernel.init == nnfuse::initializer::glorot_uniform);
    STATIC_REQUIRE(kernel.fan_in() == 3 * 3 * 32);   // receptive field * input channels
    STATIC_REQUIRE(kernel.fan_out() == 3 * 3 * 64);  // receptive field * filters
    STATIC_REQUIRE(cnn_layer<5>::variables[1].init == nnfuse::initializer::zeros);
    constexpr auto dense_kernel = cnn_layer<7>::variables[0];
    STATIC_REQUIRE(dense_kernel.fan_in() == 64);
    STATIC_REQUIRE(dense_kernel.fan_out() == 10);
}

TEST_CASE("conv2d and pooling options: strides, padding, activation, non-square windows", "[dsl][conv]") {
    using strided_same = decltype(nnfuse::conv2d<8, 5, 5>(nnfuse::strides<2, 2>, nnfuse::same_padding, nnfuse::relu));
    STATIC_REQUIRE(std::is_same_v<strided_same::output<shape<37, 37, 3>>::type, shape<(37 + 1) / 2, (37 + 1) / 2, 8>>);
    STATIC_REQUIRE(strided_same::activation == nnfuse::activation_kind::relu);
    STATIC_REQUIRE(strided_same::use_bias);
    STATIC_REQUIRE(nnfuse::last_activation<strided_same> == nnfuse::activation_kind::relu);
    // Options in any order name the same layer.
    STATIC_REQUIRE(std::is_same_v<strided_same, decltype(nnfuse::conv2d<8, 5, 5>(nnfuse::relu, nnfuse::same_padding,
                                                                                 nnfuse::strides<2, 2>))>);

    using strided_valid = decltype(nnfuse::conv2d<8, 5, 5>(nnfuse::strides<2, 2>));
    STATIC_REQUIRE(std::is_same_v<strided_valid::output<shape<37, 37, 3>>::type, shape<(37 - 5) / 2 + 1, 17, 8>>);
    STATIC_REQUIRE(strided_valid::activation == nnfuse::activation_kind::linear);

    using tall = decltype(nnfuse::conv2d<4, 3, 1>(nnfuse::strides<1, 2>, nnfuse::elu, nnfuse::no_bias));
    STATIC_REQUIRE(std::is_same_v<tall::output<shape<7, 5, 2>>::type, shape<7 - 3 + 1, (5 - 1) / 2 + 1, 4>>);
    STATIC_REQUIRE(!tall::use_bias);

    constexpr auto model = nnfuse::sequential(
        nnfuse::input<37, 37, 3>, nnfuse::conv2d<8, 5, 5>(nnfuse::strides<2, 2>), nnfuse::average_pool2d<3, 3>(),
        nnfuse::max_pool2d<2, 2>(nnfuse::strides<1, 1>), nnfuse::average_pool2d<2, 2>(nnfuse::same_padding),
        nnfuse::max_pool2d<3, 2>(nnfuse::same_padding), nnfuse::global_average_pool2d(),
        nnfuse::dense<2>(nnfuse::softmax));
    using M = std::remove_cvref_t<decltype(model)>;
    using l1 = layer_at<M, 1>;
    using l2 = layer_at<M, 2>;
    using l3 = layer_at<M, 3>;
    using l4 = layer_at<M, 4>;
    using l5 = layer_at<M, 5>;
    STATIC_REQUIRE(std::is_same_v<l1::output_shape, shape<(17 - 3) / 3 + 1, 5, 8>>);       // 5
    STATIC_REQUIRE(std::is_same_v<l2::output_shape, shape<(5 - 2) / 1 + 1, 4, 8>>);        // 4
    STATIC_REQUIRE(std::is_same_v<l3::output_shape, shape<(4 + 1) / 2, (4 + 1) / 2, 8>>);  // 2
    STATIC_REQUIRE(std::is_same_v<l4::output_shape, shape<(2 + 2) / 3, (2 + 1) / 2, 8>>);  // 1 (strides 3, 2)
    STATIC_REQUIRE(std::is_same_v<l5::output_shape, shape<8>>);
    STATIC_REQUIRE(nnfuse::total_params(model) == 5 * 5 * 3 * 8 + 8 + 8 * 2 + 2);
    // Default pooling strides are the pool size: max_pool2d<2, 2>() is max_pool2d<2, 2>(strides<2, 2>, valid).
    STATIC_REQUIRE(std::is_same_v<decltype(nnfuse::max_pool2d<2, 2>()),
                                  decltype(nnfuse::max_pool2d<2, 2>(nnfuse::valid_padding, nnfuse::strides<2, 2>))>);
}

TEST_CASE("reshape and batch_norm over channels", "[dsl][conv]") {
    // A flat 12-value sample as 2 x 2 x 3 images: BN then normalizes 3 channels, 4 parameters each.
    constexpr auto model = nnfuse::sequential(nnfuse::input<12>, nnfuse::reshape<2, 2, 3>(), nnfuse::batch_norm(),
                                              nnfuse::reshape<12>(), nnfuse::dense<2>(nnfuse::softmax));
    using M = std::remove_cvref_t<decltype(model)>;
    using bn = layer_at<M, 1>;
    STATIC_REQUIRE(std::is_same_v<bn::input_shape, shape<2, 2, 3>>);
    STATIC_REQUIRE(bn::input_shape::features == 3);
    STATIC_REQUIRE(bn::input_shape::rows_per_sample == 2 * 2);
    STATIC_REQUIRE(bn::params == 4 * 3);
    STATIC_REQUIRE(bn::trainable_params == 2 * 3);
    STATIC_REQUIRE(layer_at<M, 2>::name.view() == "reshape_1"sv);
    STATIC_REQUIRE(nnfuse::total_params(model) == 4 * 3 + 12 * 2 + 2);
    // reshape only reshapes: a layer that must follow the input (normalization) may follow it.
    STATIC_REQUIRE(nnfuse::only_reshapes<nnfuse::reshape_layer<2, 2, 3>>);
    constexpr auto normalized =
        nnfuse::sequential(nnfuse::input<12>, nnfuse::reshape<2, 2, 3>(), nnfuse::normalization(),
                           nnfuse::global_average_pool2d(), nnfuse::dense<2>(nnfuse::softmax));
    STATIC_REQUIRE(nnfuse::total_params(normalized) == 3 + 3 + 1 + 3 * 2 + 2);
}
