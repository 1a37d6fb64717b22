// Residual blocks (issue 20): y = block(x) + x, placed as the block's layers and a Keras Add, in a functional model.
// Every expected shape, count, name and summary row below is Keras's rule worked by hand, not read from the code:
//   same padding at stride 1 keeps (h, w); Conv2D params kh*kw*cin*filters (+ filters with bias); BN 4 per channel
//   (2 trainable); Add none. Names number each kind in order of appearance: Keras creates the block's layers, then
//   the Add, in call order. The summary is Keras 2.6's functional print_summary (line 98, positions .33/.55/.67/1):
//   an "input_1 (InputLayer)" row with shape "[(None, ...)]", "Connected to" as "name[0][0]", an Add's second input
//   on a row of its own.
#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "dsl/nnfuse.hpp"

using namespace std::string_view_literals;
using nnfuse::model_input;
using nnfuse::shape;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

void check_lines(const std::string& text, const std::vector<std::string>& expected) {
    const auto actual = lines_of(text);
    REQUIRE(actual.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        INFO("line " << i + 1);
        CHECK(actual[i] == expected[i]);
    }
}

template <class Model, std::size_t I>
using layer_at = std::remove_cvref_t<decltype(boost::hana::at_c<I>(std::remove_cvref_t<Model>::layers))>;

template <std::size_t... I>
constexpr std::array<std::size_t, sizeof...(I)> reads() {
    return {I...};
}

// input<8,8,3> -> conv2d<16,3,3>(same, relu) -> residual(conv, BN, relu, conv, BN) -> relu -> GAP -> dense<10>
constexpr auto resnet = nnfuse::sequential(
    nnfuse::input<8, 8, 3>, nnfuse::conv2d<16, 3, 3>(nnfuse::same_padding, nnfuse::relu),
    nnfuse::residual(nnfuse::conv2d<16, 3, 3>(nnfuse::same_padding, nnfuse::no_bias), nnfuse::batch_norm(),
                     nnfuse::activation(nnfuse::relu), nnfuse::conv2d<16, 3, 3>(nnfuse::same_padding, nnfuse::no_bias),
                     nnfuse::batch_norm()),
    nnfuse::activation(nnfuse::relu), nnfuse::global_average_pool2d(), nnfuse::dense<10>(nnfuse::softmax));
using resnet_t = std::remove_cvref_t<decltype(resnet)>;
template <std::size_t I>
using res_layer = layer_at<resnet_t, I>;

constexpr std::size_t stem_params = 3 * 3 * 3 * 16 + 16;    // 448
constexpr std::size_t block_conv_params = 3 * 3 * 16 * 16;  // 2304, no bias
constexpr std::size_t bn_params = 4 * 16;                   // 64, of which 32 moving statistics
constexpr std::size_t head_params = 16 * 10 + 10;           // 170
constexpr std::size_t res_total = stem_params + 2 * block_conv_params + 2 * bn_params + head_params;  // 5354
constexpr std::size_t res_non_trainable = 2 * 2 * 16;                                                 // 64

// input<28,28> -> flatten -> dense<20>(relu) -> residual(dense<20>(relu), dense<20>()) -> dense<10>(softmax)
constexpr auto dense_res = nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::flatten(), nnfuse::dense<20>(nnfuse::relu),
                                              nnfuse::residual(nnfuse::dense<20>(nnfuse::relu), nnfuse::dense<20>()),
                                              nnfuse::dense<10>(nnfuse::softmax));
using dense_res_t = std::remove_cvref_t<decltype(dense_res)>;

}  // namespace

TEST_CASE("residual conv model: layers placed in Keras's order with Keras names", "[dsl][residual]") {
    STATIC_REQUIRE(resnet_t::layer_count == 10);
    STATIC_REQUIRE(res_layer<0>::name.view() == "conv2d"sv);
    STATIC_REQUIRE(res_layer<1>::name.view() == "conv2d_1"sv);
    STATIC_REQUIRE(res_layer<2>::name.view() == "batch_normalization"sv);
    STATIC_REQUIRE(res_layer<3>::name.view() == "activation"sv);
    STATIC_REQUIRE(res_layer<4>::name.view() == "conv2d_2"sv);
    STATIC_REQUIRE(res_layer<5>::name.view() == "batch_normalization_1"sv);
    STATIC_REQUIRE(res_layer<6>::name.view() == "add"sv);
    STATIC_REQUIRE(res_layer<6>::layer_type::keras_class == "Add"sv);
    STATIC_REQUIRE(res_layer<7>::name.view() == "activation_1"sv);
    STATIC_REQUIRE(res_layer<8>::name.view() == "global_average_pooling2d"sv);
    STATIC_REQUIRE(res_layer<9>::name.view() == "dense"sv);
    STATIC_REQUIRE(!resnet_t::is_chain);
    STATIC_REQUIRE(resnet_t::name == "model"sv);
}

TEST_CASE("residual conv model: shapes and the layers each layer reads", "[dsl][residual]") {
    STATIC_REQUIRE(std::is_same_v<res_layer<0>::output_shape, shape<8, 8, 16>>);
    STATIC_REQUIRE(std::is_same_v<res_layer<1>::input_shape, shape<8, 8, 16>>);
    STATIC_REQUIRE(std::is_same_v<res_layer<5>::output_shape, shape<8, 8, 16>>);
    STATIC_REQUIRE(std::is_same_v<res_layer<6>::input_shape, shape<8, 8, 16>>);
    STATIC_REQUIRE(std::is_same_v<res_layer<6>::output_shape, shape<8, 8, 16>>);
    STATIC_REQUIRE(std::is_same_v<res_layer<8>::output_shape, shape<16>>);
    STATIC_REQUIRE(std::is_same_v<resnet_t::output_shape, shape<10>>);

    STATIC_REQUIRE(res_layer<0>::inputs == reads<model_input>());
    STATIC_REQUIRE(res_layer<1>::inputs == reads<0>());
    STATIC_REQUIRE(res_layer<5>::inputs == reads<4>());
    STATIC_REQUIRE(res_layer<6>::inputs == reads<5, 0>());  // Add()([block output, x])
    STATIC_REQUIRE(res_layer<7>::inputs == reads<6>());
    STATIC_REQUIRE(res_layer<9>::inputs == reads<8>());
    STATIC_REQUIRE(resnet_t::readers(0) == 2);  // x: the block's first conv and the Add
    STATIC_REQUIRE(resnet_t::readers(5) == 1);
    STATIC_REQUIRE(resnet_t::readers(model_input) == 1);
    STATIC_REQUIRE(resnet_t::readers(9) == 0);  // the last layer: only the loss reads it
}

TEST_CASE("residual conv model: parameter counts as Keras", "[dsl][residual]") {
    STATIC_REQUIRE(res_layer<0>::params == stem_params);
    STATIC_REQUIRE(res_layer<1>::params == block_conv_params);
    STATIC_REQUIRE(res_layer<2>::params == bn_params);
    STATIC_REQUIRE(res_layer<2>::non_trainable_params == 2 * 16);
    STATIC_REQUIRE(res_layer<4>::params == block_conv_params);
    STATIC_REQUIRE(res_layer<6>::params == 0);
    STATIC_REQUIRE(res_layer<9>::params == head_params);
    STATIC_REQUIRE(res_total == 5354);
    STATIC_REQUIRE(nnfuse::total_params(resnet) == res_total);
    STATIC_REQUIRE(nnfuse::non_trainable_params(resnet) == res_non_trainable);
    STATIC_REQUIRE(nnfuse::trainable_params(resnet) == res_total - res_non_trainable);
}

TEST_CASE("residual conv model: the block's variables keep their Keras names", "[dsl][residual]") {
    CHECK(nnfuse::variables_listing(resnet, "conv2d_2") == "conv2d_2/kernel:0 (3, 3, 16, 16) True\n");
    CHECK(nnfuse::variables_listing(resnet, "batch_normalization_1") ==
          "batch_normalization_1/gamma:0 (16,) True\nbatch_normalization_1/beta:0 (16,) True\n"
          "batch_normalization_1/moving_mean:0 (16,) False\nbatch_normalization_1/moving_variance:0 (16,) False\n");
    CHECK(nnfuse::variables_listing(resnet, "add").empty());
    STATIC_REQUIRE(res_layer<1>::variables[0].fan_in() == 3 * 3 * 16);
}

TEST_CASE("residual conv model: summary as Keras's functional model.summary()", "[dsl][residual][summary]") {
    check_lines(
        nnfuse::summary(resnet),
        {
            "Model: \"model\"",
            "__________________________________________________________________________________________________",
            "Layer (type)                    Output Shape         Param #     Connected to                     ",
            "==================================================================================================",
            "input_1 (InputLayer)            [(None, 8, 8, 3)]    0                                            ",
            "__________________________________________________________________________________________________",
            "conv2d (Conv2D)                 (None, 8, 8, 16)     448         input_1[0][0]                    ",
            "__________________________________________________________________________________________________",
            "conv2d_1 (Conv2D)               (None, 8, 8, 16)     2304        conv2d[0][0]                     ",
            "__________________________________________________________________________________________________",
            "batch_normalization (BatchNorma (None, 8, 8, 16)     64          conv2d_1[0][0]                   ",
            "__________________________________________________________________________________________________",
            "activation (Activation)         (None, 8, 8, 16)     0           batch_normalization[0][0]        ",
            "__________________________________________________________________________________________________",
            "conv2d_2 (Conv2D)               (None, 8, 8, 16)     2304        activation[0][0]                 ",
            "__________________________________________________________________________________________________",
            "batch_normalization_1 (BatchNor (None, 8, 8, 16)     64          conv2d_2[0][0]                   ",
            "__________________________________________________________________________________________________",
            "add (Add)                       (None, 8, 8, 16)     0           batch_normalization_1[0][0]      ",
            "                                                                 conv2d[0][0]                     ",
            "__________________________________________________________________________________________________",
            "activation_1 (Activation)       (None, 8, 8, 16)     0           add[0][0]                        ",
            "__________________________________________________________________________________________________",
            "global_average_pooling2d (Globa (None, 16)           0           activation_1[0][0]               ",
            "__________________________________________________________________________________________________",
            "dense (Dense)                   (None, 10)           170         global_average_pooling2d[0][0]   ",
            "==================================================================================================",
            "Total params: 5,354",
            "Trainable params: 5,290",
            "Non-trainable params: 64",
            "__________________________________________________________________________________________________",
        });
}

TEST_CASE("dense residual: names, shapes, inputs, parameter counts and summary", "[dsl][residual]") {
    using D = dense_res_t;
    STATIC_REQUIRE(D::layer_count == 6);
    STATIC_REQUIRE(layer_at<D, 1>::name.view() == "dense"sv);
    STATIC_REQUIRE(layer_at<D, 2>::name.view() == "dense_1"sv);
    STATIC_REQUIRE(layer_at<D, 3>::name.view() == "dense_2"sv);
    STATIC_REQUIRE(layer_at<D, 4>::name.view() == "add"sv);
    STATIC_REQUIRE(layer_at<D, 5>::name.view() == "dense_3"sv);
    STATIC_REQUIRE(std::is_same_v<layer_at<D, 4>::output_shape, shape<20>>);
    STATIC_REQUIRE(layer_at<D, 4>::inputs == reads<3, 1>());
    STATIC_REQUIRE(layer_at<D, 2>::params == 20 * 20 + 20);
    STATIC_REQUIRE(nnfuse::total_params(dense_res) == 784 * 20 + 20 + 2 * (20 * 20 + 20) + 20 * 10 + 10);
    STATIC_REQUIRE(nnfuse::non_trainable_params(dense_res) == 0);
    check_lines(
        nnfuse::summary(dense_res),
        {
            "Model: \"model\"",
            "__________________________________________________________________________________________________",
            "Layer (type)                    Output Shape         Param #     Connected to                     ",
            "==================================================================================================",
            "input_1 (InputLayer)            [(None, 28, 28)]     0                                            ",
            "__________________________________________________________________________________________________",
            "flatten (Flatten)               (None, 784)          0           input_1[0][0]                    ",
            "__________________________________________________________________________________________________",
            "dense (Dense)                   (None, 20)           15700       flatten[0][0]                    ",
            "__________________________________________________________________________________________________",
            "dense_1 (Dense)                 (None, 20)           420         dense[0][0]                      ",
            "__________________________________________________________________________________________________",
            "dense_2 (Dense)                 (None, 20)           420         dense_1[0][0]                    ",
            "__________________________________________________________________________________________________",
            "add (Add)                       (None, 20)           0           dense_2[0][0]                    ",
            "                                                                 dense[0][0]                      ",
            "__________________________________________________________________________________________________",
            "dense_3 (Dense)                 (None, 10)           210         add[0][0]                        ",
            "==================================================================================================",
            "Total params: 16,750",
            "Trainable params: 16,750",
            "Non-trainable params: 0",
            "__________________________________________________________________________________________________",
        });
}

TEST_CASE("residual at the model's start reads the model's input; nested residuals", "[dsl][residual]") {
    constexpr auto first = nnfuse::sequential(nnfuse::input<20>, nnfuse::residual(nnfuse::dense<20>(nnfuse::relu)),
                                              nnfuse::dense<3>(nnfuse::softmax));
    using F = std::remove_cvref_t<decltype(first)>;
    STATIC_REQUIRE(layer_at<F, 1>::inputs == reads<0, model_input>());
    STATIC_REQUIRE(F::readers(model_input) == 2);
    CHECK(lines_of(nnfuse::summary(first))[9].substr(65) == "input_1[0][0]" + std::string(98 - 65 - 13, ' '));

    // x -> dense -> [ dense_1 -> [ dense_2 ] + dense_1 -> dense_3 ] + dense -> dense_4
    constexpr auto nested =
        nnfuse::sequential(nnfuse::input<8>, nnfuse::dense<8>(),
                           nnfuse::residual(nnfuse::dense<8>(nnfuse::relu),
                                            nnfuse::residual(nnfuse::dense<8>(nnfuse::relu)), nnfuse::dense<8>()),
                           nnfuse::dense<2>(nnfuse::softmax));
    using N = std::remove_cvref_t<decltype(nested)>;
    STATIC_REQUIRE(N::layer_count == 7);
    STATIC_REQUIRE(layer_at<N, 3>::name.view() == "add"sv);
    STATIC_REQUIRE(layer_at<N, 3>::inputs == reads<2, 1>());
    STATIC_REQUIRE(layer_at<N, 4>::name.view() == "dense_3"sv);
    STATIC_REQUIRE(layer_at<N, 5>::name.view() == "add_1"sv);
    STATIC_REQUIRE(layer_at<N, 5>::inputs == reads<4, 0>());
    STATIC_REQUIRE(layer_at<N, 6>::name.view() == "dense_4"sv);
    STATIC_REQUIRE(nnfuse::total_params(nested) == 4 * (8 * 8 + 8) + 8 * 2 + 2);
}

TEST_CASE("a residual may end a model with a regression loss", "[dsl][residual]") {
    constexpr auto regression =
        nnfuse::sequential(nnfuse::input<4>, nnfuse::residual(nnfuse::dense<4>(nnfuse::relu), nnfuse::dense<4>()),
                           nnfuse::mean_squared_error);
    using R = std::remove_cvref_t<decltype(regression)>;
    STATIC_REQUIRE(std::is_same_v<R::output_shape, shape<4>>);
    STATIC_REQUIRE(R::targets_per_sample == 4);
    STATIC_REQUIRE(nnfuse::total_params(regression) == 2 * (4 * 4 + 4));
}

TEST_CASE("a model without a residual stays Keras's Sequential: a chain", "[dsl][residual]") {
    constexpr auto chain =
        nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::flatten(), nnfuse::dense<10>(nnfuse::softmax));
    using C = std::remove_cvref_t<decltype(chain)>;
    STATIC_REQUIRE(C::is_chain);
    STATIC_REQUIRE(C::name == "sequential"sv);
    STATIC_REQUIRE(layer_at<C, 0>::inputs == reads<model_input>());
    STATIC_REQUIRE(layer_at<C, 1>::inputs == reads<0>());
    CHECK(lines_of(nnfuse::summary(chain))[0] == R"(Model: "sequential")");
}
