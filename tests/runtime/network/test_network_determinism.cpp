// Generated networks are deterministic: training and inference are bit-identical for any number of threads and
// any batching, and thread counts are validated.
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
#include "residual_cnn_test.gen.hpp"
#include "residual_mlp_test.gen.hpp"
#include "runtime/data/pixel_rows.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/parallel/chunk_runner.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"
#include "small_cnn_test.gen.hpp"
#include "tests/runtime/network/test_helpers.hpp"
#include "two_bn_test.gen.hpp"

namespace gen = nnfuse::generated;
using test_support::find_variable;
using test_support::perturb_trainables;
using test_support::snapshot;

TEST_CASE("training is bit-identical for any number of threads", "[network][determinism][threads]") {
    const auto data = test_support::random_images(700, 28, 28, 10, 70);
    const auto fashion = [&](std::size_t threads) {
        gen::fashion_mnist::Net net(201);
        nnfuse::initialize_variables(net, 5);
        net.set_threads(threads);
        REQUIRE(net.threads() == threads);
        nnfuse::sgd optimizer(0.01f, 0.9f);
        nnfuse::trainer trainer(net, optimizer);
        nnfuse::fit_options options;
        options.epochs = 2;
        options.batch_size = 200;  // four chunks, the last one short
        const auto history = trainer.fit(data, options);
        auto weights = snapshot(net);
        weights.push_back(static_cast<float>(history.value(1, "loss").value()));  // the loss too
        return weights;
    };
    const auto one = fashion(1);
    for (const std::size_t threads : {std::size_t{2}, std::size_t{3}, std::size_t{8}}) {
        INFO(threads << " threads");
        const auto many = fashion(threads);
        REQUIRE(many.size() == one.size());
        CHECK(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)) == 0);
    }

    // Every kind of step split into chunks: BN between dense layers (whole batch), activations, frozen BN.
    const auto x = test_support::random_values(150 * 12, 11);
    const auto labels = test_support::random_labels(150, 4, 12);
    const auto two_bn = [&](std::size_t threads) {
        gen::two_bn_test::Net net(150);
        nnfuse::initialize_variables(net, 9);
        perturb_trainables(net, 10);
        net.set_threads(threads);
        const auto result = net.train_batch(x.data(), labels.data(), 150);
        std::vector<float> all{static_cast<float>(result.loss_sum), static_cast<float>(result.metric_sum)};
        for (const auto& v : net.variables()) {
            all.insert(all.end(), v.value.begin(), v.value.end());
            all.insert(all.end(), v.grad.begin(), v.grad.end());
        }
        return all;
    };
    const auto serial = two_bn(1), parallel = two_bn(2);
    REQUIRE(serial.size() == parallel.size());
    CHECK(std::memcmp(serial.data(), parallel.data(), serial.size() * sizeof(float)) == 0);

    // Convolution, BN over channels and pooling: two epochs of fit, three chunks a batch, the last one short.
    const auto images = test_support::random_images(300, 7, 9, 3, 13);
    const auto cnn = [&](std::size_t threads) {
        gen::small_cnn_test::Net net(151);
        nnfuse::initialize_variables(net, 14);
        net.set_threads(threads);
        nnfuse::sgd optimizer(0.05f, 0.9f);
        nnfuse::trainer trainer(net, optimizer);
        nnfuse::fit_options options;
        options.epochs = 2;
        options.batch_size = 150;
        const auto history = trainer.fit(images, options);
        auto weights = snapshot(net);
        weights.push_back(static_cast<float>(history.value(1, "loss").value()));
        return weights;
    };
    const auto cnn_one = cnn(1);
    for (const std::size_t threads : {std::size_t{2}, std::size_t{3}}) {
        INFO(threads << " threads, small CNN");
        const auto many = cnn(threads);
        REQUIRE(many.size() == cnn_one.size());
        CHECK(std::memcmp(cnn_one.data(), many.data(), cnn_one.size() * sizeof(float)) == 0);
    }
}

namespace {

// Two epochs of fit, three chunks a batch (the last one short), on `threads` threads: the weights and the last loss.
template <class Net, class Data>
std::vector<float> fit_residual(const Data& data, std::size_t threads) {
    Net net(151);
    nnfuse::initialize_variables(net, 15);
    net.set_threads(threads);
    nnfuse::sgd optimizer(0.05f, 0.9f);
    nnfuse::trainer trainer(net, optimizer);
    nnfuse::fit_options options;
    options.epochs = 2;
    options.batch_size = 150;
    const auto history = trainer.fit(data, options);
    auto weights = snapshot(net);
    weights.push_back(static_cast<float>(history.value(1, "loss").value()));
    return weights;
}

}  // namespace

// A residual block: the Add per chunk, and its input's gradient summed from two per chunk, in a fixed order.
TEST_CASE("training a residual network is bit-identical for any number of threads",
          "[network][determinism][threads][residual]") {
    const auto maps = test_support::random_images(300, 6, 6, 3, 16);
    const auto rows = test_support::random_images(300, 1, 7, 3, 17);
    const auto cnn_one = fit_residual<gen::residual_cnn_test::Net>(maps, 1);
    const auto mlp_one = fit_residual<gen::residual_mlp_test::Net>(rows, 1);
    for (const std::size_t threads : {std::size_t{2}, std::size_t{3}}) {
        INFO(threads << " threads");
        const auto cnn = fit_residual<gen::residual_cnn_test::Net>(maps, threads);
        REQUIRE(cnn.size() == cnn_one.size());
        CHECK(std::memcmp(cnn_one.data(), cnn.data(), cnn_one.size() * sizeof(float)) == 0);
        const auto mlp = fit_residual<gen::residual_mlp_test::Net>(rows, threads);
        REQUIRE(mlp.size() == mlp_one.size());
        CHECK(std::memcmp(mlp_one.data(), mlp.data(), mlp_one.size() * sizeof(float)) == 0);
    }
}

// Inference computes every row on its own, the batch cut into pieces for the threads (nnfuse::inference_pieces): how
// the rows are batched and how many threads run the pieces cannot change a value.
TEST_CASE("inference is bit-identical for any batching and any number of threads", "[network][determinism][threads]") {
    constexpr std::size_t rows = 2 * nnfuse::chunk_rows + 22;  // three chunks, the last one short
    const auto x = test_support::random_values(rows * 12, 21);
    const auto labels = test_support::random_labels(rows, 4, 22);
    gen::two_bn_test::Net net(rows);
    nnfuse::initialize_variables(net, 23);
    perturb_trainables(net, 24);
    net.train_batch(x.data(), labels.data(), rows);  // moving statistics off their initial values
    const auto predict = [&](std::size_t threads, std::size_t batch) {
        net.set_threads(threads);
        std::vector<float> p(rows * gen::two_bn_test::Net::classes);
        for (std::size_t begin = 0; begin < rows; begin += batch) {
            net.predict_batch(x.data() + begin * 12, std::min(batch, rows - begin), p.data() + begin * 4);
        }
        return p;
    };
    const auto whole = predict(1, rows);
    for (const auto& [threads, batch] : {std::pair{std::size_t{2}, rows}, std::pair{std::size_t{1}, std::size_t{1}},
                                         std::pair{std::size_t{2}, std::size_t{100}}}) {
        INFO(threads << " threads, batches of " << batch);
        const auto other = predict(threads, batch);
        CHECK(std::memcmp(whole.data(), other.data(), whole.size() * sizeof(float)) == 0);
    }
    const auto evaluate = [&](std::size_t threads) {
        net.set_threads(threads);
        return net.evaluate_batch(x.data(), labels.data(), rows);
    };
    const auto serial = evaluate(1), parallel = evaluate(2);
    CHECK(serial.loss_sum == parallel.loss_sum);
    CHECK(serial.metric_sum == parallel.metric_sum);
    // The input of the second BN layer, as the population statistics read it.
    const auto bn_input = [&](std::size_t threads) {
        net.set_threads(threads);
        const float* in = net.bn_input(1, x.data(), rows);
        return std::vector<float>(in, in + rows * net.bn_layers()[1].features * net.bn_layers()[1].rows_per_sample);
    };
    const auto bn_serial = bn_input(1), bn_parallel = bn_input(2);
    CHECK(std::memcmp(bn_serial.data(), bn_parallel.data(), bn_serial.size() * sizeof(float)) == 0);
}

TEST_CASE("thread counts: zero is refused, changing it keeps training", "[network][threads]") {
    gen::fashion_mnist::Net net(129);
    REQUIRE(net.threads() == 1);
    REQUIRE_THROWS_AS(net.set_threads(0), std::invalid_argument);
    const auto x = test_support::random_values(129 * 784, 13, 0.3f, 0.5f);
    const auto labels = test_support::random_labels(129, 10, 14);
    nnfuse::initialize_variables(net, 1);
    net.set_threads(2);
    const double two = net.train_batch(x.data(), labels.data(), 129).loss_sum;
    net.set_threads(1);
    const double one = net.train_batch(x.data(), labels.data(), 129).loss_sum;
    net.set_threads(2);
    const double again = net.train_batch(x.data(), labels.data(), 129).loss_sum;
    CHECK(two == one);  // same weights (no optimizer step between), same batch
    CHECK(one == again);
}

// The generator folds the reference model's BN into its first dense layer (codegen/plan.hpp); the no_fold twin
// is the same model with every layer apart. Same weights and batch: same loss and gradients up to float rounding
// (the folded path sums in another order), and the same training.
