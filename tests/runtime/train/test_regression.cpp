// A regression model end to end: sequential(input<3>, dense<1>(), mean_squared_error), generated like any model,
// trained through network::train_batch with float targets and SGD on a known, noise-free linear relation
// t = w . x + b. It must recover w and b; its loss and MAE must fall and equal, on the final weights, a
// double-precision computation of MSE and MAE; its first gradient must be the double-precision one. Targets of the
// wrong kind, and the trainer's classifier-only fit/evaluate, are refused with a clear error.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bn_before_activation_test.gen.hpp"
#include "linear_regression_test.gen.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"

namespace gen = nnfuse::generated;

namespace {

constexpr std::size_t kSamples = 256, kFeatures = 3;
constexpr std::array<double, kFeatures> kWeights = {0.5, -1.25, 2.0};
constexpr double kBias = 0.75;
constexpr double kUnit = std::numeric_limits<float>::epsilon() / 2;  // float's unit roundoff, 2^-24

struct data_set {
    std::vector<float> x;        // kSamples * kFeatures, uniform in [-1, 1]
    std::vector<float> targets;  // kSamples: w . x + b, computed in double and rounded once
};

data_set linear_relation(std::uint32_t seed) {
    std::mt19937 engine(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    data_set set;
    for (std::size_t r = 0; r < kSamples; ++r) {
        double t = kBias;
        for (std::size_t j = 0; j < kFeatures; ++j) {
            set.x.push_back(uniform(engine));
            t += kWeights[j] * static_cast<double>(set.x.back());
        }
        set.targets.push_back(static_cast<float>(t));
    }
    return set;
}

std::span<float> variable(nnfuse::network& net, std::string_view name, bool gradient = false) {
    for (const auto& v : net.variables()) {
        if (v.name == name) return gradient ? v.grad : v.value;
    }
    FAIL("no variable " << name);
    return {};
}

// MSE and MAE over `rows` samples from the net's current (float) weights, in double, with the bound on how far the
// float forward pass may differ: each prediction's error is at most delta_r = 8u (sum_j |x_j k_j| + |b| + |t|)
// (the dot product, the bias and the subtraction, each a few roundings of terms at most that large), so a row's
// squared error moves by at most (2 |e_r| + delta_r) delta_r, plus the float square's own rounding 4u e_r^2.
struct reference_loss {
    double mse = 0, mae = 0, mse_tolerance = 0, mae_tolerance = 0;
};

reference_loss reference(nnfuse::network& net, const data_set& set, std::size_t rows) {
    const auto kernel = variable(net, "dense/kernel:0");
    const double bias = variable(net, "dense/bias:0")[0];
    reference_loss ref;
    for (std::size_t r = 0; r < rows; ++r) {
        double y = bias, magnitude = std::abs(bias) + std::abs(static_cast<double>(set.targets[r]));
        for (std::size_t j = 0; j < kFeatures; ++j) {
            const double term = static_cast<double>(set.x[r * kFeatures + j]) * static_cast<double>(kernel[j]);
            y += term;
            magnitude += std::abs(term);
        }
        const double e = y - static_cast<double>(set.targets[r]), delta = 8 * kUnit * magnitude;
        ref.mse += e * e;
        ref.mae += std::abs(e);
        ref.mse_tolerance += (2 * std::abs(e) + delta) * delta + 4 * kUnit * e * e;
        ref.mae_tolerance += delta;
    }
    for (double* sum : {&ref.mse, &ref.mae, &ref.mse_tolerance, &ref.mae_tolerance}) *sum /= static_cast<double>(rows);
    return ref;
}

void check_evaluation(gen::linear_regression_test::Net& net, const data_set& set) {
    const nnfuse::batch_result result = net.evaluate_batch(set.x.data(), set.targets.data(), kSamples);
    const reference_loss ref = reference(net, set, kSamples);
    const double loss = result.loss_sum / kSamples, mae = result.metric_sum / kSamples;
    INFO("loss " << loss << " vs " << ref.mse << " +- " << ref.mse_tolerance << "; mae " << mae << " vs " << ref.mae
                 << " +- " << ref.mae_tolerance);
    CHECK(std::abs(loss - ref.mse) <= ref.mse_tolerance);
    CHECK(std::abs(mae - ref.mae) <= ref.mae_tolerance);
}

}  // namespace

TEST_CASE("a regression network describes its loss: float targets, one per output, mae", "[regression]") {
    gen::linear_regression_test::Net net(4);
    const nnfuse::network_loss loss = static_cast<nnfuse::network&>(net).loss();
    CHECK(loss.keras_name == "mean_squared_error");
    CHECK(loss.target == nnfuse::target_kind::float_vector);
    CHECK(loss.targets_per_sample == 1);
    CHECK(loss.metric == nnfuse::metric_kind::mean_absolute_error);
    CHECK(loss.metric_name == "mae");
    CHECK(net.output_size() == 1);
    gen::bn_before_activation_test::Net classifier(4);
    CHECK(static_cast<nnfuse::network&>(classifier).loss().metric_name == "accuracy");
    CHECK(classifier.loss().target == nnfuse::target_kind::class_id);
}

TEST_CASE("the first gradient of mean squared error is 2/N sum (y - t) x, as in double precision", "[regression]") {
    const data_set set = linear_relation(3);
    constexpr std::size_t rows = 32;
    gen::linear_regression_test::Net net(rows);
    nnfuse::initialize_variables(net, 5);
    variable(net, "dense/bias:0")[0] = 0.25f;  // the initializer's zero bias would hide a wrong bias gradient
    const reference_loss ref = reference(net, set, rows);  // on the weights before the step
    // The kernel's gradient, then the bias's, and their tolerances: a row's float error is within
    // delta_r = 8u (sum_j |x_j k_j| + |b| + |t|) of e_r (see reference()), the factor and the product add 2u |e_r|,
    // and the float sum over the rows u per term at most 32 times.
    std::array<double, kFeatures + 1> expected{}, tolerance{};
    const auto kernel = variable(net, "dense/kernel:0");
    for (std::size_t r = 0; r < rows; ++r) {
        double y = 0.25, magnitude = 0.25 + std::abs(double(set.targets[r]));
        for (std::size_t j = 0; j < kFeatures; ++j) {
            const double term = double(set.x[r * kFeatures + j]) * double(kernel[j]);
            y += term;
            magnitude += std::abs(term);
        }
        const double e = y - double(set.targets[r]);
        for (std::size_t j = 0; j <= kFeatures; ++j) {
            const double input = j < kFeatures ? double(set.x[r * kFeatures + j]) : 1.0;
            expected[j] += 2.0 / rows * e * input;
            tolerance[j] += 2.0 / rows * std::abs(input) * (8 * kUnit * magnitude + (2 + 32) * kUnit * std::abs(e));
        }
    }
    const nnfuse::batch_result result = net.train_batch(set.x.data(), set.targets.data(), rows);
    CHECK(std::abs(result.loss_sum / rows - ref.mse) <= ref.mse_tolerance);
    CHECK(std::abs(result.metric_sum / rows - ref.mae) <= ref.mae_tolerance);
    const auto dkernel = variable(net, "dense/kernel:0", true);
    const auto dbias = variable(net, "dense/bias:0", true);
    for (std::size_t j = 0; j <= kFeatures; ++j) {
        const double got = j < kFeatures ? dkernel[j] : dbias[0];
        INFO("gradient " << j << ": " << got << " vs " << expected[j] << " +- " << tolerance[j]);
        CHECK(std::abs(got - expected[j]) <= tolerance[j]);
    }
}

TEST_CASE("SGD through train_batch recovers a linear relation's weights and bias", "[regression]") {
    const data_set set = linear_relation(11);
    constexpr std::size_t batch = 32, epochs = 60;
    gen::linear_regression_test::Net net(kSamples);
    nnfuse::initialize_variables(net, 42);
    nnfuse::sgd optimizer(0.1f);
    std::vector<nnfuse::parameter_ref> trainable;
    for (const auto& v : net.variables()) {
        if (v.trainable) trainable.push_back({v.name, v.value, v.grad});
    }
    std::vector<double> epoch_loss, epoch_mae;
    for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
        double loss_sum = 0, mae_sum = 0;
        for (std::size_t begin = 0; begin < kSamples; begin += batch) {
            const nnfuse::batch_result result =
                net.train_batch(set.x.data() + begin * kFeatures, set.targets.data() + begin, batch);
            optimizer.step(trainable);
            loss_sum += result.loss_sum;
            mae_sum += result.metric_sum;
        }
        epoch_loss.push_back(loss_sum / kSamples);
        epoch_mae.push_back(mae_sum / kSamples);
        if (epoch == 0) check_evaluation(net, set);  // far from the optimum: a loss of order 0.1
    }
    // Noise-free, the loss's minimum is exactly (w, b). The Hessian of the MSE, 2 E[(x, 1)(x, 1)^T] with x uniform
    // in [-1, 1]^3, has eigenvalues in [2/3, 2], so each SGD step at rate 0.1 shrinks the error by at least 1 - 0.1
    // * 2/3; 480 steps leave 1e-14 of the initial error of order 1: what remains is float rounding in the
    // gradient, around 1e-7. 1e-4 allows for that with a wide margin and fails for any other fixed point.
    const auto kernel = variable(net, "dense/kernel:0");
    for (std::size_t j = 0; j < kFeatures; ++j) CHECK(kernel[j] == Approx(kWeights[j]).margin(1e-4));
    CHECK(variable(net, "dense/bias:0")[0] == Approx(kBias).margin(1e-4));
    // The loss and MAE fall epoch after epoch while the error is far above rounding, and end near zero.
    for (std::size_t epoch = 1; epoch < 10; ++epoch) {
        INFO("epoch " << epoch);
        CHECK(epoch_loss[epoch] < epoch_loss[epoch - 1]);
        CHECK(epoch_mae[epoch] < epoch_mae[epoch - 1]);
    }
    CHECK(epoch_loss.front() > 0.01);
    CHECK(epoch_loss.back() < 1e-8);
    CHECK(epoch_mae.back() < 1e-4);
    check_evaluation(net, set);

    std::vector<float> predictions(kSamples);  // a regression's predictions are its outputs
    net.predict_batch(set.x.data(), kSamples, predictions.data());
    for (std::size_t r = 0; r < kSamples; ++r) CHECK(predictions[r] == Approx(set.targets[r]).margin(1e-3));
}

TEST_CASE("targets of the wrong kind are refused with the model and the loss named", "[regression]") {
    const data_set set = linear_relation(2);
    const std::vector<std::int32_t> class_ids(4, 0);
    gen::linear_regression_test::Net regression(4);
    REQUIRE_THROWS_AS(regression.train_batch(set.x.data(), class_ids.data(), 4), std::invalid_argument);
    REQUIRE_THROWS_WITH(regression.train_batch(set.x.data(), class_ids.data(), 4),
                        "linear_regression_test: the loss mean_squared_error trains on float targets "
                        "(batch_targets::values), the batch has class ids");
    REQUIRE_THROWS_WITH(regression.evaluate_batch(set.x.data(), nnfuse::batch_targets{}, 4),
                        Catch::Contains("the batch has no targets"));

    gen::bn_before_activation_test::Net classifier(4);
    const std::vector<float> x(4 * 7, 0.5f), values(4, 1.0f);
    REQUIRE_THROWS_WITH(classifier.train_batch(x.data(), values.data(), 4),
                        "bn_before_activation_test: the loss sparse_categorical_crossentropy trains on class ids "
                        "(batch_targets::class_ids), the batch has float targets");
    REQUIRE_THROWS_AS(classifier.evaluate_batch(x.data(), values.data(), 4), std::invalid_argument);
}

TEST_CASE("the trainer refuses a set of class ids for a regression network, naming both kinds", "[regression]") {
    gen::linear_regression_test::Net net(8);
    nnfuse::sgd optimizer;
    nnfuse::trainer trainer(net, optimizer);
    nnfuse::labeled_images images{.count = 4,
                                  .height = 1,
                                  .width = 3,
                                  .pixels = std::vector<std::uint8_t>(12, 1),
                                  .labels = std::vector<std::uint8_t>(4, 0)};
    REQUIRE_THROWS_WITH(trainer.fit(images, {}),
                        Catch::Equals("the training set has class ids; model linear_regression_test has the loss "
                                      "mean_squared_error, which trains on float targets"));
    REQUIRE_THROWS_WITH(trainer.evaluate(images, 4), Catch::StartsWith("the evaluation set has class ids; model "
                                                                       "linear_regression_test"));
    CHECK(trainer.predict(images, 4).size() == 4);  // prediction needs no targets
}

TEST_CASE("a regression step gives the same bits on 1 and 2 threads", "[regression][determinism]") {
    const data_set set = linear_relation(17);
    const auto step = [&](std::size_t threads) {
        gen::linear_regression_test::Net net(kSamples);
        nnfuse::initialize_variables(net, 9);
        net.set_threads(threads);
        const nnfuse::batch_result result = net.train_batch(set.x.data(), set.targets.data(), kSamples);
        std::vector<double> all{result.loss_sum, result.metric_sum};
        for (const float g : variable(net, "dense/kernel:0", true)) all.push_back(g);
        all.push_back(variable(net, "dense/bias:0", true)[0]);
        return all;
    };
    CHECK(step(1) == step(2));
}
