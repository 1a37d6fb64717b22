// Generated networks end to end: gradients by finite differences for every parameter, batch-norm
// training rules, errors, determinism and population statistics.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <span>
#include <utility>
#include <string>
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

namespace {

const nnfuse::variable_ref& find_variable(nnfuse::network& net, std::string_view name) {
    for (const auto& v : net.variables())
        if (v.name == name) return v;
    FAIL("no variable " << name);
    throw std::logic_error("unreachable");
}

// Moves every trainable value off its initial constant, so no gradient is zero by symmetry.
void perturb_trainables(nnfuse::network& net, std::uint32_t seed) {
    for (const auto& v : net.variables()) {
        if (!v.trainable) continue;
        const auto noise = test_support::random_values(v.value.size(), seed++, 0.3f);
        for (std::size_t i = 0; i < v.value.size(); ++i) v.value[i] += noise[i];
    }
}

// Central differences of the mean loss w.r.t. every trainable value, against train_batch's gradients.
// Tolerance: the loss is computed in float, so a step of 1e-2 leaves about 1e-4 of rounding noise
// in each difference quotient; 2e-3 absolute plus 2% relative separates that from a wrong gradient.
template <class Net>
void check_every_gradient(std::size_t rows, std::uint32_t seed) {
    Net net(rows);
    nnfuse::initialize_variables(net, seed);
    perturb_trainables(net, seed + 100);
    const auto x = test_support::random_values(rows * Net::input_size_per_sample, seed + 1);
    const auto labels = test_support::random_labels(rows, Net::classes, seed + 2);
    const auto loss = [&] { return net.train_batch(x.data(), labels.data(), rows).loss_sum / static_cast<double>(rows); };

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
            INFO(net.model_name() << " " << v.name << "[" << i << "]");
            CHECK(std::abs(analytic[k][i] - numeric) <= 2e-3 + 2e-2 * std::abs(numeric));
            ++checked;
        }
    }
    CHECK(checked > 0);
}

std::vector<float> snapshot(nnfuse::network& net) {
    std::vector<float> all;
    for (const auto& v : net.variables()) all.insert(all.end(), v.value.begin(), v.value.end());
    return all;
}

}  // namespace

TEST_CASE("every parameter's gradient matches finite differences", "[network]") {
    SECTION("BN before the activation") { check_every_gradient<gen::bn_before_activation_test::Net>(6, 1); }
    SECTION("two BN layers, torch profile, rank-2 BN input, standalone activations") {
        check_every_gradient<gen::two_bn_test::Net>(5, 2);
    }
    SECTION("frozen BN") { check_every_gradient<gen::frozen_bn_test::Net>(4, 3); }
    SECTION("one feature, BN folded into the dense layer") { check_every_gradient<gen::one_feature_test::Net>(3, 4); }
    SECTION("37 features, BN folded into the dense layer") { check_every_gradient<gen::cumulative_bn_test::Net>(5, 5); }
    // More rows than one chunk (runtime/parallel/chunk_runner.hpp): gradients summed per chunk, then merged.
    SECTION("three chunks, two BN layers") { check_every_gradient<gen::two_bn_test::Net>(2 * nnfuse::chunk_rows + 3, 6); }
    SECTION("three chunks, frozen BN") { check_every_gradient<gen::frozen_bn_test::Net>(2 * nnfuse::chunk_rows + 1, 7); }
    SECTION("two chunks, BN folded") { check_every_gradient<gen::one_feature_test::Net>(nnfuse::chunk_rows + 5, 8); }
}

// A batch is cut into chunks by its row count alone, so the number of threads cannot change any result.
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
        std::vector<float> all{static_cast<float>(result.loss_sum), static_cast<float>(result.correct)};
        for (const auto& v : net.variables()) {
            all.insert(all.end(), v.value.begin(), v.value.end());
            all.insert(all.end(), v.grad.begin(), v.grad.end());
        }
        return all;
    };
    const auto serial = two_bn(1), parallel = two_bn(2);
    REQUIRE(serial.size() == parallel.size());
    CHECK(std::memcmp(serial.data(), parallel.data(), serial.size() * sizeof(float)) == 0);
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
    CHECK(serial.correct == parallel.correct);
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
TEST_CASE("BN folded into dense computes what BN followed by dense computes", "[network][fold]") {
    constexpr std::size_t rows = 32;
    gen::fashion_mnist::Net folded(rows);
    gen::fashion_mnist_no_fold::Net plain(rows);
    nnfuse::initialize_variables(folded, 3);
    perturb_trainables(folded, 4);  // gamma and beta off 1 and 0, so that folding them changes something
    const auto folded_variables = folded.variables();
    const auto plain_variables = plain.variables();
    REQUIRE(folded_variables.size() == plain_variables.size());
    for (std::size_t k = 0; k < folded_variables.size(); ++k) {
        std::copy(folded_variables[k].value.begin(), folded_variables[k].value.end(), plain_variables[k].value.begin());
    }
    // Pixels in [0, 1] as the trainer feeds them, and an input far from zero mean (the folded path must not lose
    // digits to cancellation).
    for (const float offset : {0.5f, 1000.0f}) {
        INFO("input offset " << offset);
        const auto x = test_support::random_values(rows * 784, 9, 0.3f, offset);
        const auto labels = test_support::random_labels(rows, 10, 10);
        const auto a = folded.train_batch(x.data(), labels.data(), rows);
        const auto b = plain.train_batch(x.data(), labels.data(), rows);
        CHECK(a.loss_sum == Approx(b.loss_sum).epsilon(1e-5));
        CHECK(a.correct == b.correct);
        for (std::size_t k = 0; k < folded_variables.size(); ++k) {
            const auto& f = folded_variables[k];
            const auto& p = plain_variables[k];
            if (!f.trainable) continue;
            double scale = 0.0;
            for (const float g : p.grad) scale = std::max(scale, std::abs(static_cast<double>(g)));
            REQUIRE(scale > 0.0);
            for (std::size_t i = 0; i < f.grad.size(); ++i) {
                INFO(f.name << "[" << i << "]");
                CHECK(std::abs(f.grad[i] - p.grad[i]) <= 1e-4 * scale);
            }
        }
    }
}

namespace {

// One step from pixels (train_pixel_batch) and one from the same rows widened to floats (train_batch), from the
// same weights: the loss, then every variable's value (moving statistics included) and gradient, side by side.
template <class Net>
std::pair<std::vector<double>, std::vector<double>> pixel_and_float_step(std::size_t rows, std::uint32_t seed) {
    const auto set = test_support::random_images(300, 28, 28, 10, seed);
    std::mt19937 rng(seed);
    std::vector<std::uint32_t> samples(rows + 40);
    for (auto& sample : samples) sample = static_cast<std::uint32_t>(rng() % set.count);
    const nnfuse::pixel_batch batch{set.pixels, 784, std::span(samples).first(rows),
                                    std::span(samples).subspan(rows), 1.0f / 255.0f};
    std::vector<std::int32_t> labels(rows);
    for (std::size_t r = 0; r < rows; ++r) labels[r] = set.labels[samples[r]];
    std::vector<float> widened(rows * 784);
    nnfuse::gather_pixel_rows(set.pixels.data(), 784, batch.samples, batch.scale, widened.data());

    const auto step = [&](bool from_pixels) {
        Net net(rows);
        nnfuse::initialize_variables(net, seed);
        perturb_trainables(net, seed + 1);
        net.set_threads(2);
        const auto result = from_pixels ? net.train_pixel_batch(batch, labels.data())
                                        : net.train_batch(widened.data(), labels.data(), rows);
        std::vector<double> all{result.loss_sum, static_cast<double>(result.correct)};
        for (const auto& v : net.variables()) {
            all.insert(all.end(), v.value.begin(), v.value.end());
            all.insert(all.end(), v.grad.begin(), v.grad.end());
        }
        return all;
    };
    return {step(true), step(false)};
}

}  // namespace

// The reference model's first layer is a BN folded into the dense layer: from pixels its statistics are exact
// integer sums and xhat is made from the pixels, so the step agrees with the float one up to float rounding. A model
// whose first layer is not folded widens the pixels and runs train_batch's step: the same bits.
TEST_CASE("a batch of uint8 pixels trains as the same rows widened to floats", "[network][pixels]") {
    for (const std::size_t rows : {std::size_t{40}, std::size_t{200}}) {  // one chunk; four, the last one short
        INFO(rows << " rows");
        const auto [pixels, floats] = pixel_and_float_step<gen::fashion_mnist::Net>(rows, 21);
        REQUIRE(pixels.size() == floats.size());
        CHECK(pixels[0] == Approx(floats[0]).epsilon(1e-5));
        for (std::size_t i = 1; i < pixels.size(); ++i) {
            INFO("value " << i);
            CHECK(std::abs(pixels[i] - floats[i]) <= 1e-4 * std::max(1.0, std::abs(floats[i])));
        }
        const auto [widened, plain] = pixel_and_float_step<gen::fashion_mnist_no_fold::Net>(rows, 22);
        CHECK(widened == plain);
    }
}

TEST_CASE("train_pixel_batch refuses rows of another size, rows outside the set, a batch of one and one too large",
          "[network][pixels]") {
    gen::fashion_mnist::Net net(4);
    nnfuse::initialize_variables(net, 1);
    std::vector<std::uint8_t> pixels(5 * 784);
    for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(i * 37 % 251);
    const std::vector<std::uint32_t> samples = {0, 1, 2, 3, 4}, outside = {0, 5};
    const std::vector<std::int32_t> labels(5, 1);
    const auto first = [&](std::size_t n) { return std::span(samples).first(n); };
    REQUIRE_THROWS_WITH(net.train_pixel_batch({pixels, 783, first(2), {}, 1.0f}, labels.data()),
                        "fashion_mnist: pixel rows of 783 bytes; this Net takes 784");
    REQUIRE_THROWS_WITH(net.train_pixel_batch({std::span(pixels).first(4 * 784 + 1), 784, first(2), {}, 1.0f},
                                              labels.data()),
                        "fashion_mnist: an image set of 3137 bytes is not whole rows of 784");
    REQUIRE_THROWS_WITH(net.train_pixel_batch({pixels, 784, outside, {}, 1.0f}, labels.data()),
                        "fashion_mnist: samples[1] is row 5 of an image set of 5 rows");
    REQUIRE_THROWS_WITH(net.train_pixel_batch({pixels, 784, first(2), outside, 1.0f}, labels.data()),
                        "fashion_mnist: next_samples[1] is row 5 of an image set of 5 rows");
    REQUIRE_THROWS_WITH(net.train_pixel_batch({pixels, 784, first(1), {}, 1.0f}, labels.data()),
                        "Expected more than 1 value per channel when training, got input size [1, 784]");
    REQUIRE_THROWS_WITH(net.train_pixel_batch({pixels, 784, std::span(samples), {}, 1.0f}, labels.data()),
                        Catch::Contains("a batch of 5 rows"));
    // The refused calls changed nothing: the first real step is the one a fresh Net takes.
    gen::fashion_mnist::Net fresh(4);
    nnfuse::initialize_variables(fresh, 1);
    CHECK(net.train_pixel_batch({pixels, 784, first(2), {}, 1.0f}, labels.data()).loss_sum ==
          fresh.train_pixel_batch({pixels, 784, first(2), {}, 1.0f}, labels.data()).loss_sum);
}

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
        for (std::size_t f = 0; f < c; ++f) var[f] += (x[r * c + f] - mean[f]) * (x[r * c + f] - mean[f]) / double(rows);

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
        return snapshot(net);
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
