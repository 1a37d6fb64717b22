// Dropout outside training, and its gradient: evaluate, predict and the population statistics of a model with
// dropout layers give the bits of the same model without them (the identity, whatever the random state), and
// train_batch's gradients through dropout (after elu, before BN, rate 0, making the logits) match finite differences
// of the loss at the same random state.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "dropout_edges_test.gen.hpp"
#include "dropout_edges_without_test.gen.hpp"
#include "dropout_mlp_test.gen.hpp"
#include "dropout_mlp_without_test.gen.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"
#include "tests/runtime/network/test_helpers.hpp"

namespace gen = nnfuse::generated;

namespace {

// `to` gets `from`'s variables, by name (the models differ only by their dropout layers, which have none).
void copy_variables(nnfuse::network& from, nnfuse::network& to) {
    REQUIRE(from.variables().size() == to.variables().size());
    for (const auto& v : from.variables()) {
        const auto& target = test_support::find_variable(to, v.name);
        REQUIRE(target.value.size() == v.value.size());
        std::copy(v.value.begin(), v.value.end(), target.value.begin());
    }
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Trains `with` a few batches (so that the dropout masks have shaped its weights and, for BN, moved its moving
// statistics), copies its variables into `without`, and compares their inference.
template <class With, class Without>
void check_inference_is_the_identity(std::size_t height, std::size_t width, std::size_t classes) {
    const auto data = test_support::random_images(90, height, width, classes, 21);
    With with(33);
    nnfuse::initialize_variables(with, 22);
    nnfuse::sgd optimizer(0.05f, 0.9f);
    nnfuse::trainer with_trainer(with, optimizer);
    nnfuse::fit_options options;
    options.epochs = 1;
    options.batch_size = 32;
    with_trainer.fit(data, options);
    Without without(33);
    copy_variables(with, without);
    nnfuse::sgd unused;
    nnfuse::trainer without_trainer(without, unused);

    const auto probabilities = with_trainer.predict(data, 20);
    CHECK(same_bits(probabilities, without_trainer.predict(data, 20)));
    const auto with_eval = with_trainer.evaluate(data, 25), without_eval = without_trainer.evaluate(data, 25);
    CHECK(with_eval.loss == without_eval.loss);
    CHECK(with_eval.accuracy == without_eval.accuracy);
    // no random number is drawn in inference: another seed and step change nothing
    *with.randomness() = {12345, 678};
    CHECK(same_bits(probabilities, with_trainer.predict(data, 20)));

    // population statistics read each BN layer's input in inference (through a dropout in dropout_edges)
    with_trainer.population_statistics(data, 32);
    without_trainer.population_statistics(data, 32);
    CHECK(same_bits(test_support::snapshot(with), test_support::snapshot(without)));
}

// Central differences of the mean loss at a fixed random state against train_batch's gradients, as in
// tests/runtime/network/test_network_gradients.cpp (same step and tolerance); the state is set before each call,
// since train_batch advances it.
template <class Net>
void check_gradients_at_fixed_masks(std::size_t rows, std::uint32_t seed) {
    Net net(rows);
    nnfuse::initialize_variables(net, seed);
    test_support::perturb_trainables(net, seed + 100);
    const auto x = test_support::random_values(rows * Net::input_size_per_sample, seed + 1);
    const auto labels = test_support::random_labels(rows, Net::classes, seed + 2);
    const auto loss = [&] {
        *net.randomness() = {seed, 11};
        return net.train_batch(x.data(), labels.data(), rows).loss_sum / static_cast<double>(rows);
    };
    loss();
    std::vector<std::vector<float>> analytic;
    for (const auto& v : net.variables()) analytic.emplace_back(v.grad.begin(), v.grad.end());

    constexpr float step = 1e-2f;
    std::size_t checked = 0;
    const auto variables = net.variables();
    for (std::size_t k = 0; k < variables.size(); ++k) {
        const auto& v = variables[k];
        if (!v.trainable) continue;
        for (std::size_t i = 0; i < v.value.size(); ++i) {
            const float saved = v.value[i];
            v.value[i] = saved + step;
            const double up = loss();
            v.value[i] = saved - step;
            const double down = loss();
            v.value[i] = saved;
            const double numeric = (up - down) / (2.0 * step);
            INFO(v.name << "[" << i << "]");
            CHECK(std::abs(analytic[k][i] - numeric) <= 2e-3 + 2e-2 * std::abs(numeric));
            ++checked;
        }
    }
    CHECK(checked > 0);
}

}  // namespace

TEST_CASE("evaluate, predict and population statistics are unaffected by dropout", "[dropout][inference]") {
    SECTION("dropout on the input and between dense layers") {
        check_inference_is_the_identity<gen::dropout_mlp_test::Net, gen::dropout_mlp_without_test::Net>(8, 8, 10);
    }
    SECTION("dropout before BN, rate 0, and making the logits") {
        check_inference_is_the_identity<gen::dropout_edges_test::Net, gen::dropout_edges_without_test::Net>(2, 3, 5);
    }
}

TEST_CASE("gradients through dropout match finite differences at the same masks", "[dropout][gradients]") {
    SECTION("one chunk") { check_gradients_at_fixed_masks<gen::dropout_edges_test::Net>(7, 31); }
    // the mask of a row depends on its index in the whole batch: chunks after the first start at `begin`
    SECTION("three chunks") {
        check_gradients_at_fixed_masks<gen::dropout_edges_test::Net>(2 * nnfuse::chunk_rows + 5, 32);
    }
}
