// Each loss of dsl/loss.hpp beyond sparse categorical cross-entropy and mean squared error (tested elsewhere), in a
// generated one-layer Net z = x W + b: train_batch's loss and metric sums and the kernel and bias gradients, and
// evaluate_batch's and predict_batch's results, against a double-precision computation from the Net's weights.
// Tolerance: relative 1e-4 (margin 1e-6): the float forward pass over 4 inputs and the float loss arithmetic are
// accurate to a few 1e-7 relative; a wrong formula (a factor 2, a missing 1/outputs, a wrong sign or target)
// is off by far more.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "absolute_loss_test.gen.hpp"
#include "binary_loss_test.gen.hpp"
#include "categorical_loss_test.gen.hpp"
#include "huber_loss_test.gen.hpp"
#include "runtime/train/initialize.hpp"

namespace gen = nnfuse::generated;

namespace {

constexpr std::size_t kRows = 70, kInputs = 4;  // 70 rows: two chunks of 64 and 6

// One row's loss, metric and dL/dz (before the batch mean's 1/rows) from its outputs z and targets t.
struct row_terms {
    double loss = 0, metric = 0;
    std::vector<double> dz;
};
using loss_reference = std::function<row_terms(const std::vector<double>& z, const float* t)>;

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

row_terms categorical(const std::vector<double>& z, const float* t) {
    const double top = *std::max_element(z.begin(), z.end());
    double total = 0;
    for (double v : z) total += std::exp(v - top);
    row_terms r;
    for (std::size_t j = 0; j < z.size(); ++j) {
        const double p = std::exp(z[j] - top) / total;
        r.loss -= t[j] * std::log(p);
        r.dz.push_back(p - t[j]);
    }
    const auto first_max = [](const auto* begin, std::size_t n) {
        return static_cast<std::size_t>(std::max_element(begin, begin + n) - begin);
    };
    r.metric = first_max(z.data(), z.size()) == first_max(t, z.size()) ? 1 : 0;
    return r;
}

row_terms binary(const std::vector<double>& z, const float* t) {
    row_terms r;
    const double n = static_cast<double>(z.size());
    for (std::size_t j = 0; j < z.size(); ++j) {
        const double s = sigmoid(z[j]);
        r.loss += (-t[j] * std::log(s) - (1 - t[j]) * std::log(1 - s)) / n;
        r.metric += (t[j] == (z[j] > 0 ? 1.0f : 0.0f) ? 1.0 : 0.0) / n;
        r.dz.push_back((s - t[j]) / n);
    }
    return r;
}

row_terms absolute(const std::vector<double>& z, const float* t) {
    row_terms r;
    const double n = static_cast<double>(z.size());
    for (std::size_t j = 0; j < z.size(); ++j) {
        const double e = z[j] - t[j];
        r.loss += std::abs(e) / n;
        r.metric += std::abs(e) / n;
        r.dz.push_back((e > 0 ? 1.0 : e < 0 ? -1.0 : 0.0) / n);
    }
    return r;
}

row_terms huber_half(const std::vector<double>& z, const float* t) {
    constexpr double delta = 0.5;
    row_terms r;
    const double n = static_cast<double>(z.size());
    for (std::size_t j = 0; j < z.size(); ++j) {
        const double e = z[j] - t[j];
        r.loss += (std::abs(e) <= delta ? e * e / 2 : delta * std::abs(e) - delta * delta / 2) / n;
        r.metric += std::abs(e) / n;
        r.dz.push_back(std::clamp(e, -delta, delta) / n);
    }
    return r;
}

std::span<float> variable(nnfuse::network& net, std::string_view name, bool gradient = false) {
    for (const auto& v : net.variables()) {
        if (v.name == name) return gradient ? v.grad : v.value;
    }
    FAIL("no variable " << name);
    return {};
}

// Random inputs in [-1, 1]; targets for the loss: one-hot (categorical), 0/1 (binary), or uniform in [-1.5, 1.5]
// (both sides of Huber's delta, and of every output).
template <class Net>
void check_loss(const loss_reference& reference, const std::string& target_pattern, std::uint32_t seed) {
    Net net(kRows);
    nnfuse::initialize_variables(net, seed);
    const std::size_t outputs = net.output_size();
    variable(net, "dense/bias:0")[0] = 0.125f;  // a nonzero bias: its gradient counts
    std::mt19937 engine(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> x(kRows * kInputs), t(kRows * outputs, 0.0f);
    for (float& v : x) v = uniform(engine);
    for (std::size_t r = 0; r < kRows; ++r) {
        if (target_pattern == "one-hot") {
            t[r * outputs + engine() % outputs] = 1.0f;
        } else {
            for (std::size_t j = 0; j < outputs; ++j) {
                t[r * outputs + j] =
                    target_pattern == "0/1" ? static_cast<float>(engine() % 2) : 1.5f * uniform(engine);
            }
        }
    }
    // The double-precision reference on the weights before the step.
    const auto kernel = variable(net, "dense/kernel:0");
    const auto bias = variable(net, "dense/bias:0");
    double loss = 0, metric = 0;
    std::vector<double> dkernel(kInputs * outputs, 0.0), dbias(outputs, 0.0), predictions;
    for (std::size_t r = 0; r < kRows; ++r) {
        std::vector<double> z(outputs);
        for (std::size_t j = 0; j < outputs; ++j) {
            z[j] = bias[j];
            for (std::size_t i = 0; i < kInputs; ++i) z[j] += double(x[r * kInputs + i]) * kernel[i * outputs + j];
        }
        const row_terms terms = reference(z, t.data() + r * outputs);
        loss += terms.loss;
        metric += terms.metric;
        for (std::size_t j = 0; j < outputs; ++j) {
            dbias[j] += terms.dz[j] / kRows;
            for (std::size_t i = 0; i < kInputs; ++i)
                dkernel[i * outputs + j] += x[r * kInputs + i] * terms.dz[j] / kRows;
        }
        predictions.insert(predictions.end(), z.begin(), z.end());
    }
    const auto approx = [](double v) { return Approx(v).epsilon(1e-4).margin(1e-6); };
    const nnfuse::batch_result evaluated = net.evaluate_batch(x.data(), t.data(), kRows);
    CHECK(evaluated.loss_sum / kRows == approx(loss / kRows));
    CHECK(evaluated.metric_sum / kRows == approx(metric / kRows));
    std::vector<float> predicted(kRows * outputs);
    net.predict_batch(x.data(), kRows, predicted.data());
    for (std::size_t r = 0; r < kRows; ++r) {
        std::vector<double> z(predictions.begin() + r * outputs, predictions.begin() + (r + 1) * outputs);
        for (std::size_t j = 0; j < outputs; ++j) {
            double expected = z[j];  // the output itself, unless the loss fuses an activation
            // softmax: categorical's dL/dz is p - t
            if (target_pattern == "one-hot")
                expected = categorical(z, t.data() + r * outputs).dz[j] + t[r * outputs + j];
            if (target_pattern == "0/1") expected = sigmoid(z[j]);
            CHECK(predicted[r * outputs + j] == approx(expected));
        }
    }
    const nnfuse::batch_result trained = net.train_batch(x.data(), t.data(), kRows);
    CHECK(trained.loss_sum / kRows == approx(loss / kRows));
    CHECK(trained.metric_sum / kRows == approx(metric / kRows));
    const auto grad_kernel = variable(net, "dense/kernel:0", true), grad_bias = variable(net, "dense/bias:0", true);
    for (std::size_t k = 0; k < dkernel.size(); ++k) CHECK(grad_kernel[k] == approx(dkernel[k]));
    for (std::size_t j = 0; j < outputs; ++j) CHECK(grad_bias[j] == approx(dbias[j]));
    // Class ids are not these losses' targets.
    const std::vector<std::int32_t> class_ids(kRows, 0);
    REQUIRE_THROWS_AS(net.train_batch(x.data(), class_ids.data(), kRows), std::invalid_argument);
}

}  // namespace

TEST_CASE("categorical cross-entropy: softmax fused, one-hot float targets, accuracy", "[losses]") {
    const gen::categorical_loss_test::Net net(1);
    CHECK(net.loss().metric_name == "accuracy");
    CHECK(net.loss().target == nnfuse::target_kind::float_vector);
    CHECK(net.loss().targets_per_sample == 3);
    check_loss<gen::categorical_loss_test::Net>(categorical, "one-hot", 1);
}

TEST_CASE("binary cross-entropy: sigmoid fused, 0/1 targets, binary_accuracy", "[losses]") {
    const gen::binary_loss_test::Net net(1);
    CHECK(net.loss().metric_name == "binary_accuracy");
    CHECK(net.loss().metric == nnfuse::metric_kind::binary_accuracy);
    check_loss<gen::binary_loss_test::Net>(binary, "0/1", 2);
}

TEST_CASE("mean absolute error: the output as it is, mae", "[losses]") {
    CHECK(gen::absolute_loss_test::Net(1).loss().metric_name == "mae");
    check_loss<gen::absolute_loss_test::Net>(absolute, "uniform", 3);
}

TEST_CASE("Huber with delta 0.5: quadratic near the target, linear beyond, mae", "[losses]") {
    CHECK(gen::huber_loss_test::Net(1).loss().keras_name == "huber");
    check_loss<gen::huber_loss_test::Net>(huber_half, "uniform", 4);
}
