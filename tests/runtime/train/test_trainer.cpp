// The trainer on generated Nets: the same seed trains to bit-identical weights, population statistics are the exact
// mean and variance of the whole set, and a non-finite loss stops fit before the update, the last checkpoint intact.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "bn_before_activation_test.gen.hpp"
#include "fashion_mnist.gen.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"
#include "tests/runtime/checkpoint/checkpoint_test_support.hpp"
#include "tests/runtime/network/test_helpers.hpp"

namespace gen = nnfuse::generated;
using checkpoint_test::scratch_dir;
using checkpoint_test::state_snapshot;
using checkpoint_test::variable;

TEST_CASE("the same seed trains to bit-identical weights", "[network][determinism]") {
    const auto data = test_support::random_images(300, 28, 28, 10, 50);
    const auto train = [&](std::uint64_t seed) {
        gen::fashion_mnist::Net net(33);
        nnfuse::initialize_variables(net, seed);
        nnfuse::sgd optimizer(0.01f, 0.9f);
        nnfuse::trainer trainer(net, optimizer);
        nnfuse::fit_options options;
        options.epochs = 2;
        options.seed = seed;
        trainer.fit(data, options);
        return test_support::snapshot(net);
    };
    const auto first = train(7), second = train(7), other = train(8);
    REQUIRE(first.size() == second.size());
    CHECK(std::memcmp(first.data(), second.data(), first.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(first.data(), other.data(), first.size() * sizeof(float)) != 0);
}

TEST_CASE("population statistics are the exact mean and variance of the whole set", "[network][bn]") {
    // 100 samples in batches of 32: the last batch (4) is smaller, which the merge must weigh right.
    const auto data = test_support::random_images(100, 28, 28, 10, 60);
    gen::fashion_mnist::Net net(33);
    nnfuse::initialize_variables(net, 1);
    nnfuse::sgd optimizer;
    nnfuse::trainer trainer(net, optimizer);
    trainer.population_statistics(data, 32);

    const auto bn = net.bn_layers()[0];
    for (std::size_t f = 0; f < 784; ++f) {
        double mean = 0, var = 0;
        for (std::size_t s = 0; s < data.count; ++s) mean += data.pixels[s * 784 + f] / 255.0;
        mean /= double(data.count);
        for (std::size_t s = 0; s < data.count; ++s) {
            const double d = data.pixels[s * 784 + f] / 255.0 - mean;
            var += d * d;
        }
        var /= double(data.count);
        INFO("feature " << f);
        CHECK(bn.moving_mean[f] == Approx(mean).epsilon(1e-6));
        CHECK(bn.moving_variance[f] == Approx(var).epsilon(1e-5));
    }
}

TEST_CASE("a non-finite loss stops fit naming epoch and batch, before the update; the last checkpoint survives",
          "[checkpoint][nan]") {
    // Dense(5, no bias) -> BN -> tanh -> Dense(3, softmax): a NaN weight in the first Dense makes its unit 2,
    // and so BN feature 2's batch statistics, NaN; tanh carries the NaN on to the loss.
    scratch_dir dir;
    const auto data = test_support::random_images(40, 7, 1, 3, 2);
    gen::bn_before_activation_test::Net net(11);
    nnfuse::initialize_variables(net, 3);
    nnfuse::sgd opt(0.05f, 0.9f);
    nnfuse::trainer trainer(net, opt);
    const auto file = dir / "last_good.safetensors";
    state_snapshot at_nan;
    std::vector<float> mean_at_nan, var_at_nan;

    nnfuse::fit_options options;
    options.epochs = 3;
    options.batch_size = 10;
    options.on_epoch_end = [&](std::size_t epoch, const nnfuse::history&) {
        nnfuse::save_training_checkpoint(file, net, opt, {epoch + 1, options.seed});
        variable(net, "dense/kernel:0")[0 * 5 + 2] = std::numeric_limits<float>::quiet_NaN();
        at_nan = checkpoint_test::snapshot(net, &opt);
        const auto mean = variable(net, "batch_normalization/moving_mean:0");
        const auto var = variable(net, "batch_normalization/moving_variance:0");
        mean_at_nan.assign(mean.begin(), mean.end());
        var_at_nan.assign(var.begin(), var.end());
    };
    std::string message;
    try {
        trainer.fit(data, options);
    } catch (const nnfuse::training_diverged& error) {
        message = error.what();
    }
    // The NaN's sign (printed "nan" or "-nan") depends on the SIMD target.
    CHECK_THAT(message, Catch::StartsWith("the loss is not finite (") &&
                            Catch::EndsWith("nan) in epoch 2, batch 1 of 4: training stopped"));

    // No optimizer step was taken on the NaN batch: every trainable value and slot is as it was.
    const auto after = checkpoint_test::snapshot(net, &opt);
    for (const auto& [name, value] : at_nan.values) {
        if (name.find("moving_") != std::string::npos || name.starts_with("batches_seen")) continue;
        INFO(name);
        CHECK(after.values.at(name) == value);
    }
    // Feature 2's batch statistics were NaN and stayed out of the averages; the other features moved.
    const auto mean = variable(net, "batch_normalization/moving_mean:0");
    const auto var = variable(net, "batch_normalization/moving_variance:0");
    CHECK(std::memcmp(&mean[2], &mean_at_nan[2], sizeof(float)) == 0);
    CHECK(std::memcmp(&var[2], &var_at_nan[2], sizeof(float)) == 0);
    CHECK(mean[0] != mean_at_nan[0]);
    for (std::size_t c = 0; c < mean.size(); ++c) {
        CHECK(std::isfinite(mean[c]));
        CHECK(std::isfinite(var[c]));
    }

    // The checkpoint of epoch 1, saved before the poison, is intact and resumable.
    gen::bn_before_activation_test::Net fresh(11);
    nnfuse::sgd fresh_opt(0.05f, 0.9f);
    const auto loaded = nnfuse::load_training_checkpoint(file, fresh, fresh_opt);
    CHECK(loaded.progress.epochs_done == 1);
    for (float w : variable(fresh, "dense/kernel:0")) CHECK(std::isfinite(w));
}
