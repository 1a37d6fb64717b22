// Generated networks' gradients: every parameter's against central finite differences, BN folded into the next
// dense layer against BN then dense, and uint8 pixel batches against the same rows widened to floats.
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
#include "residual_activation_end_test.gen.hpp"
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

namespace {

// Central differences of the mean loss w.r.t. every trainable value, against train_batch's gradients.
// Tolerance: the loss is computed in float, so a step of 1e-2 leaves about 1e-4 of rounding noise
// in each difference quotient; 2e-3 absolute plus 2% relative separates that from a wrong gradient. A model whose
// loss curves more within a step (a convolution feeding BN over few rows) takes a smaller step: the quotient's
// truncation error falls with its square, the rounding noise (about 3e-4 at 3e-3) stays inside the tolerance.
template <class Net>
void check_every_gradient(std::size_t rows, std::uint32_t seed, float step = 1e-2f) {
    Net net(rows);
    nnfuse::initialize_variables(net, seed);
    perturb_trainables(net, seed + 100);
    const auto x = test_support::random_values(rows * Net::input_size_per_sample, seed + 1);
    const auto labels = test_support::random_labels(rows, Net::classes, seed + 2);
    const auto loss = [&] {
        return net.train_batch(x.data(), labels.data(), rows).loss_sum / static_cast<double>(rows);
    };

    loss();
    std::vector<std::vector<float>> analytic;
    for (const auto& v : net.variables()) analytic.emplace_back(v.grad.begin(), v.grad.end());

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
    SECTION("three chunks, two BN layers") {
        check_every_gradient<gen::two_bn_test::Net>(2 * nnfuse::chunk_rows + 3, 6);
    }
    SECTION("three chunks, frozen BN") {
        check_every_gradient<gen::frozen_bn_test::Net>(2 * nnfuse::chunk_rows + 1, 7);
    }
    SECTION("two chunks, BN folded") { check_every_gradient<gen::one_feature_test::Net>(nnfuse::chunk_rows + 5, 8); }
    // conv2d (same padding at odd widths, strided, with and without bias), BN over channels, max, average and global
    // average pooling: the whole network's chain rule, beyond each kernel's own tests.
    SECTION("a small CNN") { check_every_gradient<gen::small_cnn_test::Net>(4, 9, 3e-3f); }
    SECTION("a small CNN, two chunks") {
        check_every_gradient<gen::small_cnn_test::Net>(gen::small_cnn_test::Net::chunk_rows + 3, 10, 3e-3f);
    }
    // Residual blocks: the Add's dy reaches the block's last layer and, summed with the block's first layer's dx,
    // the residual's input.
    SECTION("a residual block of convolutions") { check_every_gradient<gen::residual_cnn_test::Net>(4, 11, 3e-3f); }
    SECTION("a residual block of convolutions, two chunks") {
        check_every_gradient<gen::residual_cnn_test::Net>(gen::residual_cnn_test::Net::chunk_rows + 3, 12, 3e-3f);
    }
    SECTION("a residual block of dense layers") { check_every_gradient<gen::residual_mlp_test::Net>(5, 13); }
    SECTION("a residual block ending in an activation") {
        check_every_gradient<gen::residual_activation_end_test::Net>(5, 15);
    }
    SECTION("a residual block of dense layers, two chunks") {
        check_every_gradient<gen::residual_mlp_test::Net>(nnfuse::chunk_rows + 5, 14);
    }
}

// A batch is cut into chunks by its row count alone, so the number of threads cannot change any result.
TEST_CASE("BN folded into dense computes what BN followed by dense computes", "[network][fold]") {
    constexpr std::size_t rows = 32;
    gen::fashion_mnist::Net folded(rows);
    gen::fashion_mnist_no_fold::Net plain(rows);
    nnfuse::initialize_variables(folded, 3);
    perturb_trainables(folded, 4);  // gamma and beta off 1 and 0, so that folding them changes something
    test_support::copy_variables(folded, plain);
    const auto folded_variables = folded.variables();
    const auto plain_variables = plain.variables();
    // Pixels in [0, 1] as the trainer feeds them, and an input far from zero mean (the folded path must not lose
    // digits to cancellation).
    for (const float offset : {0.5f, 1000.0f}) {
        INFO("input offset " << offset);
        const auto x = test_support::random_values(rows * 784, 9, 0.3f, offset);
        const auto labels = test_support::random_labels(rows, 10, 10);
        const auto a = folded.train_batch(x.data(), labels.data(), rows);
        const auto b = plain.train_batch(x.data(), labels.data(), rows);
        CHECK(a.loss_sum == Approx(b.loss_sum).epsilon(1e-5));
        CHECK(a.metric_sum == b.metric_sum);
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
    const nnfuse::pixel_batch batch{set.pixels, 784, std::span(samples).first(rows), std::span(samples).subspan(rows),
                                    1.0f / 255.0f};
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
        std::vector<double> all{result.loss_sum, result.metric_sum};
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
    REQUIRE_THROWS_WITH(
        net.train_pixel_batch({std::span(pixels).first(4 * 784 + 1), 784, first(2), {}, 1.0f}, labels.data()),
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
