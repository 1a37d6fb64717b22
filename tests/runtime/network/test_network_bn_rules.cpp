// Generated networks' batch-normalization rules (a batch of one, moving statistics per layer profile, torch's
// cumulative average, frozen layers), batch-size limits, and the variables' Keras names and initial values.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bn_before_activation_test.gen.hpp"
#include "cumulative_bn_test.gen.hpp"
#include "fashion_mnist.gen.hpp"
#include "fashion_mnist_no_fold.gen.hpp"
#include "fashion_mnist_torch.gen.hpp"
#include "frozen_bn_test.gen.hpp"
#include "one_feature_test.gen.hpp"
#include "runtime/data/pixel_rows.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/parallel/chunk_runner.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"
#include "tests/runtime/network/test_helpers.hpp"
#include "two_bn_test.gen.hpp"

namespace gen = nnfuse::generated;
using test_support::find_variable;
using test_support::perturb_trainables;
using test_support::snapshot;

TEST_CASE("training refuses a batch of one, inference takes it", "[network][bn]") {
    gen::fashion_mnist::Net net(4);
    nnfuse::initialize_variables(net, 1);
    const auto x = test_support::random_values(784, 5);
    const std::int32_t label = 3;
    REQUIRE_THROWS_WITH(net.train_batch(x.data(), &label, 1),
                        "Expected more than 1 value per channel when training, got input size [1, 784]");
    const auto result = net.evaluate_batch(x.data(), &label, 1);
    CHECK(std::isfinite(result.loss_sum));
    std::vector<float> p(10);
    net.predict_batch(x.data(), 1, p.data());
    double total = 0;
    for (float v : p) total += v;
    CHECK(total == Approx(1.0).epsilon(1e-5));
}

TEST_CASE("a batch larger than the Net was built for is refused", "[network]") {
    gen::one_feature_test::Net net(2);
    const std::vector<float> x(3, 0.5f);
    const std::vector<std::int32_t> labels(3, 0);
    REQUIRE_THROWS_WITH(net.train_batch(x.data(), labels.data(), 3), Catch::Contains("a batch of 3 rows"));
}

TEST_CASE("moving statistics follow the layer's profile", "[network][bn]") {
    constexpr std::size_t rows = 8, c = 784;
    const auto x = test_support::random_values(rows * c, 11, 2.0f, 0.5f);
    const auto labels = test_support::random_labels(rows, 10, 12);
    std::vector<double> mean(c, 0.0), var(c, 0.0);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t f = 0; f < c; ++f) mean[f] += x[r * c + f] / double(rows);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t f = 0; f < c; ++f)
            var[f] += (x[r * c + f] - mean[f]) * (x[r * c + f] - mean[f]) / double(rows);

    SECTION("keras: moving = moving * 0.99 + batch * 0.01, biased variance") {
        gen::fashion_mnist::Net net(rows);
        nnfuse::initialize_variables(net, 1);
        net.train_batch(x.data(), labels.data(), rows);
        const auto bn = net.bn_layers()[0];
        for (std::size_t f = 0; f < c; f += 97) {
            CHECK(bn.moving_mean[f] == Approx(0.01 * mean[f]).margin(1e-6));
            CHECK(bn.moving_variance[f] == Approx(0.99 + 0.01 * var[f]).epsilon(1e-5));
        }
    }
    SECTION("torch: running = running * 0.9 + batch * 0.1, unbiased variance") {
        gen::fashion_mnist_torch::Net net(rows);
        nnfuse::initialize_variables(net, 1);
        net.train_batch(x.data(), labels.data(), rows);
        const auto bn = net.bn_layers()[0];
        for (std::size_t f = 0; f < c; f += 97) {
            CHECK(bn.moving_mean[f] == Approx(0.1 * mean[f]).margin(1e-6));
            CHECK(bn.moving_variance[f] == Approx(0.9 + 0.1 * var[f] * rows / (rows - 1.0)).epsilon(1e-5));
        }
    }
}

TEST_CASE("torch's cumulative average is the plain mean of the batch statistics", "[network][bn]") {
    constexpr std::size_t rows = 5, c = 37, batches = 3;
    gen::cumulative_bn_test::Net net(rows);
    nnfuse::initialize_variables(net, 1);
    std::vector<double> mean_sum(c, 0.0), var_sum(c, 0.0);
    for (std::uint32_t b = 0; b < batches; ++b) {
        const auto x = test_support::random_values(rows * c, 20 + b, 1.0f + b, float(b));
        const auto labels = test_support::random_labels(rows, 2, 30 + b);
        net.train_batch(x.data(), labels.data(), rows);
        for (std::size_t f = 0; f < c; ++f) {
            double m = 0, v = 0;
            for (std::size_t r = 0; r < rows; ++r) m += x[r * c + f] / double(rows);
            for (std::size_t r = 0; r < rows; ++r) v += (x[r * c + f] - m) * (x[r * c + f] - m) / double(rows - 1);
            mean_sum[f] += m;
            var_sum[f] += v;
        }
    }
    const auto bn = net.bn_layers()[0];
    for (std::size_t f = 0; f < c; ++f) {
        CHECK(bn.moving_mean[f] == Approx(mean_sum[f] / batches).margin(1e-5));
        CHECK(bn.moving_variance[f] == Approx(var_sum[f] / batches).epsilon(1e-5));
    }
}

TEST_CASE("a frozen BN layer neither trains nor moves its statistics", "[network][bn]") {
    gen::frozen_bn_test::Net net(4);
    nnfuse::initialize_variables(net, 1);
    for (const auto& v : net.variables()) {
        if (v.name.starts_with("batch_normalization/")) CHECK_FALSE(v.trainable);
    }
    const auto& moving_mean = find_variable(net, "batch_normalization/moving_mean:0");
    const auto& moving_var = find_variable(net, "batch_normalization/moving_variance:0");
    moving_mean.value[1] = 0.25f;
    moving_var.value[2] = 4.0f;
    const auto x = test_support::random_values(4 * 5, 40);
    const auto labels = test_support::random_labels(4, 3, 41);
    net.train_batch(x.data(), labels.data(), 4);
    CHECK(moving_mean.value[0] == 0.0f);
    CHECK(moving_mean.value[1] == 0.25f);
    CHECK(moving_var.value[2] == 4.0f);
}

TEST_CASE("variables carry Keras's names, sizes and initial values", "[network]") {
    gen::fashion_mnist::Net net(2);
    nnfuse::initialize_variables(net, 42);
    const auto& gamma = find_variable(net, "batch_normalization/gamma:0");
    CHECK(gamma.value.size() == 784);
    CHECK(gamma.trainable);
    CHECK(gamma.value[100] == 1.0f);
    CHECK(find_variable(net, "batch_normalization/moving_variance:0").value[5] == 1.0f);
    CHECK_FALSE(find_variable(net, "batch_normalization/moving_mean:0").trainable);
    const auto& kernel = find_variable(net, "dense/kernel:0");
    REQUIRE(kernel.value.size() == 784 * 20);
    const float limit = std::sqrt(6.0f / (784 + 20));
    float lowest = 0, highest = 0;
    for (float w : kernel.value) {
        lowest = std::min(lowest, w);
        highest = std::max(highest, w);
    }
    CHECK(lowest >= -limit);
    CHECK(highest <= limit);
    CHECK(highest > 0.9f * limit);  // uniform over the whole range, not a narrower one
    CHECK(find_variable(net, "dense_1/bias:0").value.size() == 10);
}
