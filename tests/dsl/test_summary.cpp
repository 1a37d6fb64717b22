// summary() and variables_listing() print what Keras prints.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "dsl/nnfuse.hpp"

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

}  // namespace

TEST_CASE("summary of a BN-before-activation model, line by line", "[dsl][summary]") {
    constexpr auto model =
        nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::flatten(), nnfuse::dense<20>(nnfuse::no_bias),
                           nnfuse::batch_norm(), nnfuse::activation(nnfuse::elu), nnfuse::dense<10>(nnfuse::softmax));
    // Rendered by hand with Keras 2.6's print_row rules: stops at 29/55/65, rows padded to 65.
    const std::vector<std::string> expected = {
        R"(Model: "sequential")",
        "_________________________________________________________________",
        "Layer (type)                 Output Shape              Param #   ",
        "=================================================================",
        "flatten (Flatten)            (None, 784)               0         ",
        "_________________________________________________________________",
        "dense (Dense)                (None, 20)                15680     ",
        "_________________________________________________________________",
        "batch_normalization (BatchNo (None, 20)                80        ",
        "_________________________________________________________________",
        "activation (Activation)      (None, 20)                0         ",
        "_________________________________________________________________",
        "dense_1 (Dense)              (None, 10)                210       ",
        "=================================================================",
        "Total params: 15,970",
        "Trainable params: 15,930",
        "Non-trainable params: 40",
        "_________________________________________________________________",
    };
    const auto actual = lines_of(nnfuse::summary(model));
    REQUIRE(actual.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        INFO("line " << i + 1);
        CHECK(actual[i] == expected[i]);
    }
}

TEST_CASE("summary of a model with Dropout, as Keras prints it", "[dsl][summary]") {
    // Keras: Sequential([Flatten(input_shape=(28, 28)), Dense(20, activation="elu"), Dropout(0.2),
    //                    Dense(10, activation="softmax")]).summary()
    constexpr auto model = nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::flatten(), nnfuse::dense<20>(nnfuse::elu),
                                              nnfuse::dropout<0.2>(), nnfuse::dense<10>(nnfuse::softmax));
    const std::vector<std::string> expected = {
        R"(Model: "sequential")",
        "_________________________________________________________________",
        "Layer (type)                 Output Shape              Param #   ",
        "=================================================================",
        "flatten (Flatten)            (None, 784)               0         ",
        "_________________________________________________________________",
        "dense (Dense)                (None, 20)                15700     ",
        "_________________________________________________________________",
        "dropout (Dropout)            (None, 20)                0         ",
        "_________________________________________________________________",
        "dense_1 (Dense)              (None, 10)                210       ",
        "=================================================================",
        "Total params: 15,910",
        "Trainable params: 15,910",
        "Non-trainable params: 0",
        "_________________________________________________________________",
    };
    const auto actual = lines_of(nnfuse::summary(model));
    REQUIRE(actual.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        INFO("line " << i + 1);
        CHECK(actual[i] == expected[i]);
    }
}

TEST_CASE("summary cuts long shapes and counts at their column stops", "[dsl][summary]") {
    constexpr auto model = nnfuse::sequential(nnfuse::input<1000, 1000, 3>, nnfuse::batch_norm(), nnfuse::flatten(),
                                              nnfuse::dense<1000>(), nnfuse::mean_squared_error);
    const auto lines = lines_of(nnfuse::summary(model));
    for (std::size_t row : {2u, 4u, 6u, 8u}) {
        INFO(lines[row]);
        CHECK(lines[row].size() == 65);
    }
    CHECK(lines[8].substr(0, 29) == "dense (Dense)                ");
    CHECK(lines[8].substr(29, 26) == "(None, 1000)              ");
    CHECK(lines[8].substr(55) == "3000001000");
    CHECK(lines[lines.size() - 4] == "Total params: 3,000,001,012");
}

TEST_CASE("variables listing names, shapes and trainability", "[dsl][summary]") {
    constexpr auto model = nnfuse::sequential(nnfuse::input<37>, nnfuse::batch_norm<{.scale = false}>(),
                                              nnfuse::dense<5>(), nnfuse::mean_squared_error);
    CHECK(nnfuse::variables_listing(model, "batch_normalization") ==
          "batch_normalization/beta:0 (37,) True\n"
          "batch_normalization/moving_mean:0 (37,) False\n"
          "batch_normalization/moving_variance:0 (37,) False\n");
    CHECK(nnfuse::variables_listing(model, "dense") == "dense/kernel:0 (37, 5) True\ndense/bias:0 (5,) True\n");
    CHECK(nnfuse::variables_listing(model, "no_such_layer").empty());
}
