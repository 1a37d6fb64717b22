// The network's optional capabilities (runtime/train/batch_norm_statistics.hpp, pixel_training.hpp): which
// generated Nets offer them, and what the trainer does with a network that lacks one: fit widens the pixels itself
// and trains to the same bits, population_statistics has nothing to replace.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "fashion_mnist.gen.hpp"
#include "fashion_mnist_no_fold.gen.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/train/batch_norm_statistics.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/pixel_training.hpp"
#include "runtime/train/trainer.hpp"
#include "tests/runtime/network/test_helpers.hpp"
#include "vg_sigmoid_d3_w16_no_bn.gen.hpp"

namespace gen = nnfuse::generated;

namespace {

// Another network's every member but its capabilities: what the trainer sees of a network that offers none.
class without_capabilities final : public nnfuse::network {
public:
    explicit without_capabilities(nnfuse::network& inner) : inner_(inner) {}
    std::string_view model_name() const override { return inner_.model_name(); }
    std::string_view architecture() const override { return inner_.architecture(); }
    std::size_t input_size() const override { return inner_.input_size(); }
    std::size_t output_size() const override { return inner_.output_size(); }
    std::size_t max_batch() const override { return inner_.max_batch(); }
    nnfuse::network_loss loss() const override { return inner_.loss(); }
    std::span<const nnfuse::variable_ref> variables() override { return inner_.variables(); }
    void set_threads(std::size_t threads) override { inner_.set_threads(threads); }
    std::size_t threads() const override { return inner_.threads(); }
    void for_each_chunk(std::size_t rows, nnfuse::chunk_body_ref body) override { inner_.for_each_chunk(rows, body); }
    nnfuse::batch_result train_batch(const float* x, nnfuse::batch_targets targets, std::size_t rows) override {
        return inner_.train_batch(x, targets, rows);
    }
    nnfuse::batch_result evaluate_batch(const float* x, nnfuse::batch_targets targets, std::size_t rows) override {
        return inner_.evaluate_batch(x, targets, rows);
    }
    void predict_batch(const float* x, std::size_t rows, float* predictions) override {
        inner_.predict_batch(x, rows, predictions);
    }

private:
    nnfuse::network& inner_;
};

// Two epochs of fit from seed 5 on the network `trained` (which drives `net`), two threads; returns net's variables.
std::vector<float> fit_two_epochs(nnfuse::network& net, nnfuse::network& trained) {
    const auto data = test_support::random_images(150, 28, 28, 10, 31);
    nnfuse::initialize_variables(net, 5);
    net.set_threads(2);
    nnfuse::sgd optimizer(0.01f, 0.9f);
    nnfuse::trainer trainer(trained, optimizer);
    nnfuse::fit_options options;
    options.epochs = 2;
    options.batch_size = 40;  // 150 rows: batches of 40, 40, 40, 30; a chunk and a short one
    trainer.fit(data, options);
    return test_support::snapshot(net);
}

}  // namespace

TEST_CASE("a generated Net offers batch_norm_statistics when its model has BN layers, pixel_training always",
          "[capabilities]") {
    gen::fashion_mnist::Net with_bn(4);
    nnfuse::network& bn_net = with_bn;
    REQUIRE(bn_net.as_batch_norm_statistics() == static_cast<nnfuse::batch_norm_statistics*>(&with_bn));
    REQUIRE(bn_net.as_batch_norm_statistics()->bn_layers().size() == 1);
    CHECK(bn_net.as_batch_norm_statistics()->bn_layers()[0].name == "batch_normalization");
    CHECK(nnfuse::bn_layers_of(bn_net).size() == 1);
    CHECK(bn_net.as_pixel_training() == static_cast<nnfuse::pixel_training*>(&with_bn));

    gen::vg_sigmoid_d3_w16_no_bn::Net no_bn(4);
    nnfuse::network& plain = no_bn;
    CHECK(plain.as_batch_norm_statistics() == nullptr);
    CHECK(nnfuse::bn_layers_of(plain).empty());
    CHECK(plain.as_pixel_training() == static_cast<nnfuse::pixel_training*>(&no_bn));
}

TEST_CASE("fit without the pixel capability widens the rows itself: the same bits as the Net's widening path",
          "[capabilities][pixels]") {
    gen::fashion_mnist_no_fold::Net offered(41), hidden(41);
    without_capabilities bare(hidden);
    REQUIRE(bare.as_pixel_training() == nullptr);
    const auto through_net = fit_two_epochs(offered, offered);
    const auto through_trainer = fit_two_epochs(hidden, bare);
    REQUIRE(through_net.size() == through_trainer.size());
    CHECK(std::memcmp(through_net.data(), through_trainer.data(), through_net.size() * sizeof(float)) == 0);
}

TEST_CASE(
    "fit without the pixel capability trains a model that reads pixels itself to the same values up to "
    "rounding",
    "[capabilities][pixels]") {
    // The reference model's pixel path takes its BN statistics from exact integer sums, the float path from floats.
    gen::fashion_mnist::Net offered(41), hidden(41);
    without_capabilities bare(hidden);
    const auto from_pixels = fit_two_epochs(offered, offered);
    const auto from_floats = fit_two_epochs(hidden, bare);
    REQUIRE(from_pixels.size() == from_floats.size());
    CHECK(std::memcmp(from_pixels.data(), from_floats.data(), from_pixels.size() * sizeof(float)) != 0);
    for (std::size_t i = 0; i < from_pixels.size(); ++i) {
        INFO("value " << i);
        CHECK(std::abs(from_pixels[i] - from_floats[i]) <= 1e-3 * std::max(1.0f, std::abs(from_floats[i])));
    }
}

TEST_CASE("population statistics of a network without BN layers change nothing; the set is still checked",
          "[capabilities][bn]") {
    const auto data = test_support::random_images(50, 28, 28, 10, 3);
    gen::vg_sigmoid_d3_w16_no_bn::Net net(16);
    nnfuse::initialize_variables(net, 2);
    nnfuse::sgd optimizer;
    nnfuse::trainer trainer(net, optimizer);
    const auto before = test_support::snapshot(net);
    trainer.population_statistics(data, 16);
    const auto after = test_support::snapshot(net);
    CHECK(std::memcmp(before.data(), after.data(), before.size() * sizeof(float)) == 0);

    const auto wrong_size = test_support::random_images(5, 27, 28, 10, 3);
    CHECK_THROWS_AS(trainer.population_statistics(wrong_size, 16), std::invalid_argument);
    CHECK_THROWS_AS(trainer.population_statistics(data, 17), std::invalid_argument);
}
