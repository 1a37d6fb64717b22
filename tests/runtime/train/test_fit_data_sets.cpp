// trainer on any data set (runtime/data/data_set.hpp): float rows with float targets (regression, binary) and with
// class ids, uint8 images through the pixel path and as floats, Keras's validation_split and validation_data, and
// evaluate's regression metrics (rmse, R^2) against a double-precision computation from the predictions.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "bn_before_activation_test.gen.hpp"
#include "fashion_mnist.gen.hpp"
#include "fashion_mnist_no_fold.gen.hpp"
#include "runtime/data/float_rows.hpp"
#include "runtime/data/image_rows.hpp"
#include "runtime/data/row_range.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"
#include "tabular_binary_test.gen.hpp"
#include "tabular_regression_test.gen.hpp"
#include "tests/runtime/network/test_helpers.hpp"

namespace gen = nnfuse::generated;
using test_support::random_values;

namespace {

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

bool same_history(const nnfuse::history& a, const nnfuse::history& b) {
    if (a.epochs() != b.epochs() || a.keys() != b.keys()) return false;
    for (std::size_t e = 0; e < a.epochs(); ++e)
        for (const auto& key : a.keys())
            if (a.value(e, key) != b.value(e, key)) return false;
    return true;
}

// Two outputs that depend on the 4 features: t0 = x . (1, -2, 0.5, 0) + 3, t1 = |x1| + x2 x3 (needs the ReLU layer).
std::vector<float> regression_targets(const std::vector<float>& x) {
    std::vector<float> t;
    for (std::size_t r = 0; r < x.size() / 4; ++r) {
        const float* row = &x[r * 4];
        t.push_back(row[0] - 2 * row[1] + 0.5f * row[2] + 3);
        t.push_back(std::abs(row[1]) + row[2] * row[3]);
    }
    return t;
}

// 1 when x0 + x1 > 0.
std::vector<float> binary_targets(const std::vector<float>& x) {
    std::vector<float> t;
    for (std::size_t r = 0; r < x.size() / 5; ++r) t.push_back(x[r * 5] + x[r * 5 + 1] > 0 ? 1.0f : 0.0f);
    return t;
}

}  // namespace

TEST_CASE("a regression on float rows trains through fit; evaluate's rmse and R^2 are those of its predictions",
          "[data_set][regression]") {
    const std::vector<float> x = random_values(400 * 4, 11), x_test = random_values(100 * 4, 12);
    const std::vector<float> t = regression_targets(x), t_test = regression_targets(x_test);
    const nnfuse::float_rows train(x, 4, t, 2), test(x_test, 4, t_test, 2);
    gen::tabular_regression_test::Net net(64);
    nnfuse::initialize_variables(net, 42);
    nnfuse::adam optimizer(0.01f);
    nnfuse::trainer trainer(net, optimizer);
    nnfuse::fit_options options;
    options.epochs = 30;
    options.validation_data = &test;
    const nnfuse::history history = trainer.fit(train, options);
    CHECK(history.keys() == std::vector<std::string>{"loss", "mae", "rmse", "val_loss", "val_mae", "val_rmse"});
    const auto loss = history.series("loss");
    CHECK(loss.back() < loss.front() / 10);
    CHECK(history.series("rmse").back() == std::sqrt(loss.back()));

    const nnfuse::evaluation result = trainer.evaluate(test, 32);
    CHECK(result.metric_name == "mae");
    CHECK(std::isnan(result.accuracy));
    CHECK(result.loss == history.series("val_loss").back());
    CHECK(result.rmse == history.series("val_rmse").back());
    // The reference: the same metrics in double from predict's outputs.
    const std::vector<float> y = trainer.predict(test, 32);
    double squared = 0, absolute = 0, r2 = 0;
    for (std::size_t k = 0; k < 2; ++k) {
        double mean = 0, ss_res = 0, ss_tot = 0;
        for (std::size_t r = 0; r < 100; ++r) mean += t_test[r * 2 + k] / 100.0;
        for (std::size_t r = 0; r < 100; ++r) {
            const double e = static_cast<double>(y[r * 2 + k]) - t_test[r * 2 + k], d = t_test[r * 2 + k] - mean;
            ss_res += e * e, ss_tot += d * d, absolute += std::abs(e);
        }
        squared += ss_res, r2 += (1 - ss_res / ss_tot) / 2;
    }
    CHECK(result.rmse == Approx(std::sqrt(squared / 200)).epsilon(1e-9));
    CHECK(result.r_squared == Approx(r2).epsilon(1e-9));
    CHECK(result.metric == Approx(absolute / 200).epsilon(1e-5));  // the loss kernel's float sums
    CHECK(result.loss == Approx(squared / 200).epsilon(1e-5));
    CHECK(result.r_squared > 0.8);  // and it learned the relation
}

TEST_CASE("a binary classifier on float rows reports binary_accuracy in the history and in evaluate",
          "[data_set][binary]") {
    const std::vector<float> x = random_values(300 * 5, 21), t = binary_targets(x);
    const nnfuse::float_rows rows(x, 5, t, 1);
    gen::tabular_binary_test::Net net(64);
    nnfuse::initialize_variables(net, 42);
    nnfuse::adam optimizer(0.01f);
    nnfuse::trainer trainer(net, optimizer);
    nnfuse::fit_options options;
    options.epochs = 20;
    options.validation_split = 0.2;
    const nnfuse::history history = trainer.fit(rows, options);
    CHECK(history.keys() == std::vector<std::string>{"binary_accuracy", "loss", "val_binary_accuracy", "val_loss"});
    const nnfuse::evaluation result = trainer.evaluate(nnfuse::last_rows(rows, 60), 16);
    CHECK(result.metric_name == "binary_accuracy");
    CHECK(result.metric == history.series("val_binary_accuracy").back());
    CHECK(result.metric > 0.9);
    CHECK(std::isnan(result.rmse));
    CHECK(std::isnan(result.r_squared));
}

TEST_CASE("validation_split holds out the last rows before shuffling, as Keras", "[data_set][validation]") {
    const std::vector<float> x = random_values(101 * 7, 31);
    const std::vector<std::int32_t> labels = test_support::random_labels(101, 3, 32);
    const nnfuse::float_rows rows(x, 7, labels);
    const auto train = [&](const nnfuse::data_set& set, nnfuse::fit_options options) {
        gen::bn_before_activation_test::Net net(64);
        nnfuse::initialize_variables(net, 3);
        nnfuse::sgd optimizer(0.05f, 0.9f);
        options.epochs = 3;
        options.batch_size = 16;
        const nnfuse::history history = nnfuse::trainer(net, optimizer).fit(set, options);
        return std::pair{history, test_support::snapshot(net)};
    };
    nnfuse::fit_options split;
    split.validation_split = 0.25;  // floor(101 * 0.75) = 75 rows train, the last 26 validate
    const nnfuse::row_range first = nnfuse::first_rows(rows, 75), last = nnfuse::last_rows(rows, 26);
    nnfuse::fit_options explicit_data;
    explicit_data.validation_data = &last;
    const auto [split_history, split_weights] = train(rows, split);
    const auto [explicit_history, explicit_weights] = train(first, explicit_data);
    CHECK(same_history(split_history, explicit_history));
    CHECK(same_bits(split_weights, explicit_weights));
    CHECK(split_history.value(0, "val_accuracy").has_value());

    nnfuse::fit_options both = explicit_data;
    both.validation_split = 0.25;
    CHECK_THROWS_WITH(train(rows, both), "fit: give validation_data or validation_split, not both");
    for (const double bad : {1.0, -0.1, std::numeric_limits<double>::quiet_NaN()}) {
        nnfuse::fit_options options;
        options.validation_split = bad;
        CHECK_THROWS_WITH(train(rows, options), Catch::Contains("validation_split") && Catch::Contains("[0, 1)"));
    }
    nnfuse::fit_options too_small;
    too_small.validation_split = 1e-17;  // floor(101 * (1 - 1e-17)) = 101: holds out no row
    CHECK_THROWS_WITH(train(rows, too_small), Catch::Contains("holds out 0"));
    nnfuse::fit_options too_large;
    too_large.validation_split = 0.99;  // floor(1.01) = 1 row left to train on
    CHECK_THROWS_WITH(train(rows, too_large), Catch::Contains("holds out 100, leaving 1"));
}

// A Net that widens the pixels itself reads the same floats as float rows of pixel / 255, so it trains to the same
// bits; the reference model's first BN folded into its dense layer reads the pixels as integers (exact sums for its
// statistics), which rounds differently: the same training within float precision.
TEST_CASE("images train through the pixel path as they do as float rows of pixel / 255", "[data_set][pixels]") {
    const nnfuse::labeled_images images = test_support::random_images(130, 28, 28, 10, 41);
    std::vector<float> x(images.pixels.size());
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(images.pixels[i]) * (1.0f / 255.0f);
    const std::vector<std::int32_t> labels(images.labels.begin(), images.labels.end());
    const auto train = [&]<class Net>(std::type_identity<Net>, const nnfuse::data_set& set) {
        Net net(64);
        nnfuse::initialize_variables(net, 7);
        net.set_threads(2);
        nnfuse::adam optimizer;
        nnfuse::fit_options options;
        options.epochs = 2;
        const nnfuse::history history = nnfuse::trainer(net, optimizer).fit(set, options);
        return std::pair{history.series("loss"), test_support::snapshot(net)};
    };
    const nnfuse::image_rows pixels(images);
    const nnfuse::float_rows floats(x, 784, labels);
    REQUIRE_FALSE(pixels.pixels().pixels.empty());
    const auto [widened_loss, widened_weights] = train(std::type_identity<gen::fashion_mnist_no_fold::Net>{}, pixels);
    const auto [float_loss, float_weights] = train(std::type_identity<gen::fashion_mnist_no_fold::Net>{}, floats);
    CHECK(same_bits(widened_weights, float_weights));
    CHECK(widened_loss == float_loss);

    const auto [folded_loss, folded_weights] = train(std::type_identity<gen::fashion_mnist::Net>{}, pixels);
    const auto [folded_float_loss, folded_float_weights] = train(std::type_identity<gen::fashion_mnist::Net>{}, floats);
    for (std::size_t e = 0; e < 2; ++e) CHECK(folded_loss[e] == Approx(folded_float_loss[e]).epsilon(1e-6));
}

TEST_CASE("the trainer names what is wrong with a data set", "[data_set][errors]") {
    gen::tabular_binary_test::Net net(16);
    nnfuse::sgd optimizer;
    nnfuse::trainer trainer(net, optimizer);
    const std::vector<float> x(20 * 5, 0.5f), wide(20 * 6, 0.5f), t(20, 1.0f), t2(40, 1.0f);
    const std::vector<std::int32_t> ids(20, 0);
    CHECK_THROWS_WITH(trainer.fit(nnfuse::float_rows(wide, 6, t, 1), {}),
                      "the training set has rows of 6 features; model tabular_binary_test takes 5");
    CHECK_THROWS_WITH(trainer.evaluate(nnfuse::float_rows(x, 5, ids), 8),
                      "the evaluation set has class ids; model tabular_binary_test has the loss binary_crossentropy, "
                      "which trains on float targets");
    CHECK_THROWS_WITH(trainer.fit(nnfuse::float_rows(x, 5, t2, 2), {}),
                      "the training set has 2 targets per row; model tabular_binary_test outputs 1");
    CHECK_THROWS_WITH(trainer.evaluate(nnfuse::float_rows(x, 5), 8),
                      Catch::StartsWith("the evaluation set has no targets"));
    CHECK(trainer.predict(nnfuse::float_rows(x, 5), 8).size() == 20);  // prediction needs none
    CHECK_THROWS_WITH(trainer.predict(nnfuse::float_rows(x, 5), 17), "batch size 17 is not in [1, 16]");

    gen::bn_before_activation_test::Net classifier(16);
    nnfuse::trainer classifier_trainer(classifier, optimizer);
    const std::vector<float> x7(20 * 7, 0.5f);
    std::vector<std::int32_t> too_large(20, 1);
    too_large[13] = 3;
    CHECK_THROWS_WITH(classifier_trainer.evaluate(nnfuse::float_rows(x7, 7, too_large), 8),
                      "the evaluation set's label 3 at index 13 is not below the model's 3 classes");
}

TEST_CASE("shuffle = false trains on the rows in their order, every epoch", "[data_set][shuffle]") {
    const std::vector<float> x = random_values(64 * 5, 51), t = binary_targets(x);
    const auto train = [&](bool shuffle, std::uint64_t seed) {
        gen::tabular_binary_test::Net net(64);
        nnfuse::initialize_variables(net, 1);
        nnfuse::sgd optimizer(0.1f);
        nnfuse::fit_options options;
        options.epochs = 2;
        options.shuffle = shuffle;
        options.seed = seed;
        nnfuse::trainer(net, optimizer).fit(nnfuse::float_rows(x, 5, t, 1), options);
        return test_support::snapshot(net);
    };
    CHECK(same_bits(train(false, 1), train(false, 2)));  // the seed only orders the rows
    CHECK_FALSE(same_bits(train(true, 1), train(true, 2)));
}
