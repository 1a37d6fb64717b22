// BN folded into the conv2d before it for inference (codegen/layers/conv_bn_fold.hpp): small_cnn_test's inference
// against its twin generated with --no-fold (conv2d, then BN over channels with elu), from the same variables, with
// gamma, beta and the moving statistics away from their initial values so that folding them changes the kernel.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "runtime/train/batch_norm_statistics.hpp"
#include "runtime/train/initialize.hpp"
#include "small_cnn_no_fold_test.gen.hpp"
#include "small_cnn_test.gen.hpp"
#include "tests/runtime/network/test_helpers.hpp"

namespace gen = nnfuse::generated;

TEST_CASE("BN folded into conv2d for inference predicts what conv2d then BN predicts", "[network][fold][conv]") {
    constexpr std::size_t rows = 11;
    gen::small_cnn_test::Net folded(rows);
    gen::small_cnn_no_fold_test::Net plain(rows);
    nnfuse::initialize_variables(folded, 31);
    test_support::perturb_trainables(folded, 32);
    const auto mean_shift = test_support::random_values(4, 33, 0.5f);
    const auto variance_noise = test_support::random_values(4, 34, 0.2f);
    const auto& moving_mean = test_support::find_variable(folded, "batch_normalization/moving_mean:0");
    const auto& moving_variance = test_support::find_variable(folded, "batch_normalization/moving_variance:0");
    for (std::size_t c = 0; c < moving_mean.value.size(); ++c) {
        moving_mean.value[c] = mean_shift[c];
        moving_variance.value[c] = 0.6f + std::abs(variance_noise[c]);
    }
    test_support::copy_variables(folded, plain);
    // Inputs near zero and far from it (the folded bias carries -moving_mean * s: no cancellation may show).
    for (const float offset : {0.0f, 30.0f}) {
        INFO("input offset " << offset);
        const auto x =
            test_support::random_values(rows * gen::small_cnn_test::Net::input_size_per_sample, 35, 1.0f, offset);
        std::vector<float> folded_predictions(rows * 3), plain_predictions(rows * 3);
        folded.predict_batch(x.data(), rows, folded_predictions.data());
        plain.predict_batch(x.data(), rows, plain_predictions.data());
        for (std::size_t i = 0; i < folded_predictions.size(); ++i) {
            INFO("prediction " << i);
            CHECK(folded_predictions[i] == Approx(plain_predictions[i]).epsilon(1e-5).margin(1e-6));
        }
        const auto labels = test_support::random_labels(rows, 3, 36);
        CHECK(folded.evaluate_batch(x.data(), labels.data(), rows).loss_sum ==
              Approx(plain.evaluate_batch(x.data(), labels.data(), rows).loss_sum).epsilon(1e-5));

        // The population statistics read BN's input: the conv2d's own output, unfolded, in both.
        const std::size_t bn_values = rows * 7 * 9 * 4;
        const float* folded_input = folded.as_batch_norm_statistics()->bn_input(0, x.data(), rows);
        const float* plain_input = plain.as_batch_norm_statistics()->bn_input(0, x.data(), rows);
        CHECK(std::equal(folded_input, folded_input + bn_values, plain_input));
    }
}
