// Tests of BnUpdateMoving (runtime/kernels/bn_moving.hpp): the Keras and PyTorch moving-statistics
// rules after several batches, the cumulative average, and the NaN guard. Expected values are the
// closed forms of the rules (the sum of a geometric series), not a replay of the update loop.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/kernels/bn_moving.hpp"

namespace {

using nnfuse::bn_profile;
using nnfuse::kernels::BnUpdateMoving;

constexpr std::size_t features = 5;
constexpr std::size_t batch_rows = 32;       // m
constexpr double relative_tolerance = 1e-6;  // float rounding of a few double operations

// Three batches' statistics (mean, biased variance) per feature.
const std::vector<std::vector<float>> batch_means = {
    {0.5f, -1.0f, 3.0f, 200.0f, 0.0f}, {0.7f, -0.5f, 2.0f, 190.0f, 1e-3f}, {0.2f, -2.0f, 4.0f, 210.0f, -1e-3f}};
const std::vector<std::vector<float>> batch_vars = {
    {1.0f, 0.25f, 4.0f, 900.0f, 1e-4f}, {2.0f, 0.5f, 3.0f, 1100.0f, 2e-4f}, {0.5f, 0.75f, 5.0f, 1000.0f, 3e-4f}};

// Keras's and PyTorch's initial moving statistics.
constexpr float initial_mean_value = 0.0f;
constexpr float initial_var_value = 1.0f;
std::vector<float> initial_mean() { return std::vector<float>(features, initial_mean_value); }
std::vector<float> initial_var() { return std::vector<float>(features, initial_var_value); }

void check_relative(const std::vector<float>& actual, const std::vector<double>& expected) {
    for (std::size_t c = 0; c < actual.size(); ++c) {
        INFO("feature " << c);
        CHECK(actual[c] == Approx(expected[c]).epsilon(relative_tolerance).margin(1e-12));
    }
}

}  // namespace

TEST_CASE("BnUpdateMoving: keras rule after three batches", "[bn_moving]") {
    const double momentum = 0.99;
    std::vector<float> moving_mean = initial_mean(), moving_var = initial_var();
    for (std::size_t b = 0; b < 3; ++b) {
        CHECK(BnUpdateMoving(features, batch_means[b].data(), batch_vars[b].data(), batch_rows, bn_profile::keras,
                             momentum, false, b + 1, moving_mean.data(), moving_var.data()) == 0);
    }
    // moving_3 = k^3 moving_0 + (1-k) (k^2 s_1 + k s_2 + s_3), biased variance.
    std::vector<double> want_mean(features), want_var(features);
    for (std::size_t c = 0; c < features; ++c) {
        const double k = momentum;
        want_mean[c] = k * k * k * initial_mean_value +
                       (1 - k) * (k * k * batch_means[0][c] + k * batch_means[1][c] + batch_means[2][c]);
        want_var[c] = k * k * k * initial_var_value +
                      (1 - k) * (k * k * batch_vars[0][c] + k * batch_vars[1][c] + batch_vars[2][c]);
    }
    check_relative(moving_mean, want_mean);
    check_relative(moving_var, want_var);
}

TEST_CASE("BnUpdateMoving: torch rule after three batches uses the unbiased variance", "[bn_moving]") {
    const double momentum = 0.1;
    std::vector<float> running_mean = initial_mean(), running_var = initial_var();
    for (std::size_t b = 0; b < 3; ++b) {
        CHECK(BnUpdateMoving(features, batch_means[b].data(), batch_vars[b].data(), batch_rows, bn_profile::torch,
                             momentum, false, b + 1, running_mean.data(), running_var.data()) == 0);
    }
    // running_3 = (1-f)^3 running_0 + f ((1-f)^2 s_1 + (1-f) s_2 + s_3), s = var * m/(m-1) for the variance.
    const double bessel = static_cast<double>(batch_rows) / (batch_rows - 1);
    std::vector<double> want_mean(features), want_var(features);
    for (std::size_t c = 0; c < features; ++c) {
        const double f = momentum, k = 1 - momentum;
        want_mean[c] = k * k * k * initial_mean_value +
                       f * (k * k * batch_means[0][c] + k * batch_means[1][c] + batch_means[2][c]);
        want_var[c] = k * k * k * initial_var_value +
                      f * bessel * (k * k * batch_vars[0][c] + k * batch_vars[1][c] + batch_vars[2][c]);
    }
    check_relative(running_mean, want_mean);
    check_relative(running_var, want_var);
}

TEST_CASE("BnUpdateMoving: keras and torch differ as their conventions say", "[bn_moving]") {
    // Keras momentum 0.9 keeps 90 %; torch momentum 0.1 takes 10 %: the same means, variances apart
    // by Bessel's factor in the batch's share.
    std::vector<float> keras_mean = initial_mean(), keras_var = initial_var();
    std::vector<float> torch_mean = initial_mean(), torch_var = initial_var();
    BnUpdateMoving(features, batch_means[0].data(), batch_vars[0].data(), batch_rows, bn_profile::keras, 0.9, false, 1,
                   keras_mean.data(), keras_var.data());
    BnUpdateMoving(features, batch_means[0].data(), batch_vars[0].data(), batch_rows, bn_profile::torch, 0.1, false, 1,
                   torch_mean.data(), torch_var.data());
    for (std::size_t c = 0; c < features; ++c) {
        INFO("feature " << c);
        CHECK(keras_mean[c] == Approx(torch_mean[c]).epsilon(relative_tolerance));
        const double share_difference = 0.1 * batch_vars[0][c] * (32.0 / 31.0 - 1.0);
        const double rounding = 2 * std::numeric_limits<float>::epsilon() * keras_var[c];  // of two floats
        CHECK(torch_var[c] - keras_var[c] == Approx(share_difference).epsilon(1e-6).margin(rounding));
    }
}

TEST_CASE("BnUpdateMoving: cumulative average is the plain mean of the batch statistics", "[bn_moving]") {
    std::vector<float> running_mean = initial_mean(), running_var = initial_var();
    for (std::uint64_t b = 0; b < 3; ++b) {
        BnUpdateMoving(features, batch_means[b].data(), batch_vars[b].data(), batch_rows, bn_profile::torch, 0.1, true,
                       b + 1, running_mean.data(), running_var.data());
    }
    const double bessel = static_cast<double>(batch_rows) / (batch_rows - 1);
    std::vector<double> want_mean(features), want_var(features);
    for (std::size_t c = 0; c < features; ++c) {
        want_mean[c] = (batch_means[0][c] + batch_means[1][c] + batch_means[2][c]) / 3.0;
        want_var[c] = bessel * (batch_vars[0][c] + batch_vars[1][c] + batch_vars[2][c]) / 3.0;
    }
    check_relative(running_mean, want_mean);
    check_relative(running_var, want_var);
}

TEST_CASE("BnUpdateMoving: non-finite batch statistics never enter", "[bn_moving]") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> mean = {nan, 1.0f, 2.0f, -inf, 4.0f};
    const std::vector<float> var = {1.0f, inf, 2.0f, 1.0f, nan};
    for (const bn_profile profile : {bn_profile::keras, bn_profile::torch}) {
        INFO(nnfuse::to_string(profile));
        std::vector<float> moving_mean = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f}, moving_var = {1.1f, 1.2f, 1.3f, 1.4f, 1.5f};
        const std::vector<float> mean_before = moving_mean, var_before = moving_var;
        const double momentum = profile == bn_profile::keras ? 0.99 : 0.1;
        CHECK(BnUpdateMoving(features, mean.data(), var.data(), batch_rows, profile, momentum, false, 1,
                             moving_mean.data(), moving_var.data()) == 4);
        for (const std::size_t c : {0u, 1u, 3u, 4u}) {
            CHECK(moving_mean[c] == mean_before[c]);
            CHECK(moving_var[c] == var_before[c]);
        }
        CHECK(moving_mean[2] != mean_before[2]);  // the finite feature was updated
        CHECK(std::isfinite(moving_var[2]));
    }
}
