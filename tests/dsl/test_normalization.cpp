// nnfuse::normalization(): Keras's Normalization() in the DSL: shape, variables (names, shapes, initializers, none
// trained), parameter counts and the summary line Keras prints.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "dsl/nnfuse.hpp"

using namespace std::string_view_literals;

namespace {

template <class Model, std::size_t I>
using layer_at = std::remove_cvref_t<decltype(boost::hana::at_c<I>(Model::layers))>;

// The model of issue 18: 30 features standardized, then dense(no_bias) -> BN -> relu -> a sigmoid output.
constexpr auto model = nnfuse::sequential(
    nnfuse::input<30>, nnfuse::normalization(), nnfuse::dense<16>(nnfuse::no_bias), nnfuse::batch_norm(),
    nnfuse::activation(nnfuse::relu), nnfuse::dense<1>(nnfuse::sigmoid), nnfuse::binary_crossentropy);
using M = decltype(model);

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

}  // namespace

TEST_CASE("normalization keeps the shape and holds mean, variance and count, none trained", "[dsl][normalization]") {
    using norm = layer_at<M, 0>;
    STATIC_REQUIRE(norm::name == "normalization"sv);
    STATIC_REQUIRE(norm::layer_type::keras_class == "Normalization"sv);
    STATIC_REQUIRE(std::is_same_v<norm::output_shape, nnfuse::shape<30>>);
    STATIC_REQUIRE(norm::variables.size() == 3);
    STATIC_REQUIRE(norm::variables[0].name == "normalization/mean:0"sv);
    STATIC_REQUIRE(norm::variables[1].name == "normalization/variance:0"sv);
    STATIC_REQUIRE(norm::variables[2].name == "normalization/count:0"sv);
    STATIC_REQUIRE(norm::variables[0].shape_text() == "(30,)"sv);
    STATIC_REQUIRE(norm::variables[1].shape_text() == "(30,)"sv);
    STATIC_REQUIRE(norm::variables[2].shape_text() == "()"sv);  // a scalar, as Keras's count
    STATIC_REQUIRE(norm::variables[2].size() == 1);
    STATIC_REQUIRE(norm::variables[0].init == nnfuse::initializer::zeros);
    STATIC_REQUIRE(norm::variables[1].init == nnfuse::initializer::ones);
    STATIC_REQUIRE(norm::variables[2].init == nnfuse::initializer::zeros);
    STATIC_REQUIRE(!norm::variables[0].trainable);
    STATIC_REQUIRE(!norm::variables[1].trainable);
    STATIC_REQUIRE(!norm::variables[2].trainable);
    STATIC_REQUIRE(norm::params == 2 * 30 + 1);
    STATIC_REQUIRE(norm::trainable_params == 0);
    STATIC_REQUIRE(layer_at<M, 1>::name == "dense"sv);
    STATIC_REQUIRE(layer_at<M, 4>::name == "dense_1"sv);
    // 61 + dense 30*16 + BN 4*16 + dense_1 16+1
    STATIC_REQUIRE(nnfuse::total_params(model) == 61 + 480 + 64 + 17);
    STATIC_REQUIRE(nnfuse::trainable_params(model) == 480 + 32 + 17);
    STATIC_REQUIRE(nnfuse::non_trainable_params(model) == 61 + 32);
    CHECK(nnfuse::variables_listing(model, "normalization") ==
          "normalization/mean:0 (30,) False\nnormalization/variance:0 (30,) False\nnormalization/count:0 () False\n");
}

TEST_CASE("normalization after flatten, and on the last axis of a rank-2 sample", "[dsl][normalization]") {
    constexpr auto flat = nnfuse::sequential(nnfuse::input<4, 5>, nnfuse::flatten(), nnfuse::normalization(),
                                             nnfuse::dense<3>(nnfuse::softmax));
    using F = decltype(flat);
    STATIC_REQUIRE(layer_at<F, 1>::variables[0].shape_text() == "(20,)"sv);
    STATIC_REQUIRE(layer_at<F, 1>::params == 41);
    // Keras's axis=-1: one mean per feature of the last axis, shared by the 4 rows of a sample.
    constexpr auto rows = nnfuse::sequential(nnfuse::input<4, 5>, nnfuse::normalization(), nnfuse::flatten(),
                                             nnfuse::dense<3>(nnfuse::softmax));
    using R = decltype(rows);
    STATIC_REQUIRE(std::is_same_v<layer_at<R, 0>::output_shape, nnfuse::shape<4, 5>>);
    STATIC_REQUIRE(layer_at<R, 0>::variables[1].shape_text() == "(5,)"sv);
    STATIC_REQUIRE(layer_at<R, 0>::params == 11);
}

TEST_CASE("summary of a model with Normalization, as Keras prints it", "[dsl][summary][normalization]") {
    // Keras: Sequential([Input((30,)), Normalization(), Dense(16, use_bias=False), BatchNormalization(),
    //                    Activation("relu"), Dense(1, activation="sigmoid")]).summary(), rendered with Keras 2.6's
    // print_row rules (stops at 29/55/65, the last character of a cut field a space).
    const std::vector<std::string> expected = {
        R"(Model: "sequential")",
        "_________________________________________________________________",
        "Layer (type)                 Output Shape              Param #   ",
        "=================================================================",
        "normalization (Normalization (None, 30)                61        ",
        "_________________________________________________________________",
        "dense (Dense)                (None, 16)                480       ",
        "_________________________________________________________________",
        "batch_normalization (BatchNo (None, 16)                64        ",
        "_________________________________________________________________",
        "activation (Activation)      (None, 16)                0         ",
        "_________________________________________________________________",
        "dense_1 (Dense)              (None, 1)                 17        ",
        "=================================================================",
        "Total params: 622",
        "Trainable params: 529",
        "Non-trainable params: 93",
        "_________________________________________________________________",
    };
    const auto actual = lines_of(nnfuse::summary(model));
    REQUIRE(actual.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        INFO("line " << i + 1);
        CHECK(actual[i] == expected[i]);
    }
}
