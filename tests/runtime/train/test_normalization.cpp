// A normalization layer in generated Nets: adapt() fits the exact statistics of the rows it is given (against a
// reference computed here in long double), the Net standardizes with them in training and inference (its
// predictions against a double computation), a model with it trains on features of wildly different offsets and
// scales and predicts new rows with the statistics of the training rows, and adapt's errors name what is wrong.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "binary_loss_test.gen.hpp"
#include "normalized_binary_test.gen.hpp"
#include "normalized_rows_test.gen.hpp"
#include "runtime/data/float_rows.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/train/adapt.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/normalization_statistics.hpp"

namespace gen = nnfuse::generated;

namespace {

constexpr double kUnit = 0x1p-24;  // float's unit roundoff

std::span<float> variable(nnfuse::network& net, std::string_view name) {
    for (const auto& v : net.variables()) {
        if (v.name == name) return v.value;
    }
    FAIL("no variable " << name);
    return {};
}

// Rows whose feature c (of `features`, the last axis) is offset c * 1000 - 7000 and scaled by 10^(c % 7 - 3):
// statistics far from 0 and 1, and of every magnitude.
std::vector<float> spread_rows(std::size_t values, std::size_t features, std::uint32_t seed) {
    std::mt19937 engine(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(values);
    for (std::size_t i = 0; i < values; ++i) {
        const std::size_t c = i % features;
        x[i] = static_cast<float>(static_cast<double>(c) * 1000.0 - 7000.0 +
                                  std::pow(10.0, double(c % 7) - 3.0) * double(normal(engine)));
    }
    return x;
}

// Mean and population variance of each feature over every value of `x` (feature i % features), in long double.
struct moments {
    std::vector<long double> mean, variance;
};

moments reference_moments(const std::vector<float>& x, std::size_t features) {
    moments m{std::vector<long double>(features, 0), std::vector<long double>(features, 0)};
    const long double count = static_cast<long double>(x.size() / features);
    for (std::size_t i = 0; i < x.size(); ++i) m.mean[i % features] += x[i];
    for (auto& v : m.mean) v /= count;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const long double d = x[i] - m.mean[i % features];
        m.variance[i % features] += d * d;
    }
    for (auto& v : m.variance) v /= count;
    return m;
}

// adapt's float is the double result rounded once: within one rounding (u relative) of the exact value, plus the
// double computation's own error, far below that.
void check_rounded(std::span<const float> got, const std::vector<long double>& expected, const char* what) {
    for (std::size_t c = 0; c < got.size(); ++c) {
        INFO(what << "[" << c << "]: " << got[c] << " vs " << static_cast<double>(expected[c]));
        CHECK(std::abs(static_cast<long double>(got[c]) - expected[c]) <=
              1.0001L * kUnit * std::abs(expected[c]) + 1e-30L);
    }
}

}  // namespace

TEST_CASE("adapt sets mean, population variance and count of the given rows", "[normalization]") {
    gen::normalized_binary_test::Net net(64);
    nnfuse::initialize_variables(net, 1);
    REQUIRE(net.as_normalization_statistics() != nullptr);
    // Initial values: Keras's zeros, ones, zeros; an unadapted layer is the identity.
    CHECK(variable(net, "normalization/mean:0")[5] == 0.0f);
    CHECK(variable(net, "normalization/variance:0")[5] == 1.0f);
    CHECK(variable(net, "normalization/count:0")[0] == 0.0f);
    constexpr std::size_t rows = 1000;
    const std::vector<float> x = spread_rows(rows * 30, 30, 7);
    nnfuse::adapt(net, x.data(), rows);
    const moments expected = reference_moments(x, 30);
    check_rounded(variable(net, "normalization/mean:0"), expected.mean, "mean");
    check_rounded(variable(net, "normalization/variance:0"), expected.variance, "variance");
    CHECK(variable(net, "normalization/count:0")[0] == 1000.0f);
    // The same rows give the same bits; other rows other statistics, count included.
    const std::vector<float> mean(variable(net, "normalization/mean:0").begin(),
                                  variable(net, "normalization/mean:0").end());
    nnfuse::adapt(net, x.data(), rows);
    CHECK(std::vector<float>(variable(net, "normalization/mean:0").begin(),
                             variable(net, "normalization/mean:0").end()) == mean);
    nnfuse::adapt(net, x.data(), 10);
    CHECK(variable(net, "normalization/count:0")[0] == 10.0f);
    check_rounded(variable(net, "normalization/mean:0"),
                  reference_moments(std::vector<float>(x.begin(), x.begin() + 300), 30).mean, "mean of 10 rows");
}

TEST_CASE("adapt on a data set gives the bits of adapt on the same rows as an array", "[normalization][data_set]") {
    constexpr std::size_t rows = 700;  // several blocks of the data set's reads, the last one short
    const std::vector<float> x = spread_rows(rows * 30, 30, 9);
    const auto statistics = [](nnfuse::network& net) {
        std::vector<float> all;
        for (const char* name : {"normalization/mean:0", "normalization/variance:0", "normalization/count:0"}) {
            const auto values = variable(net, name);
            all.insert(all.end(), values.begin(), values.end());
        }
        return all;
    };
    gen::normalized_binary_test::Net from_array(4), from_set(4);
    nnfuse::adapt(from_array, x.data(), rows);
    nnfuse::adapt(from_set, nnfuse::float_rows(x, 30));
    CHECK(statistics(from_set) == statistics(from_array));
    const std::vector<float> narrow(rows * 29, 1.0f);
    CHECK_THROWS_WITH(nnfuse::adapt(from_set, nnfuse::float_rows(narrow, 29)),
                      Catch::Contains("takes 30 features per row; the data set has 29"));
}

TEST_CASE("on a rank-2 sample adapt pools every row of every sample per last-axis feature", "[normalization]") {
    gen::normalized_rows_test::Net net(8);
    nnfuse::initialize_variables(net, 1);
    const nnfuse::normalization_layer_ref layer = net.as_normalization_statistics()->normalization_layer();
    CHECK(layer.name == "normalization");
    CHECK(layer.features == 5);
    CHECK(layer.rows_per_sample == 4);
    constexpr std::size_t samples = 37;
    const std::vector<float> x = spread_rows(samples * 20, 5, 3);
    nnfuse::adapt(net, x.data(), samples);
    const moments expected = reference_moments(x, 5);
    check_rounded(layer.mean, expected.mean, "mean");
    check_rounded(layer.variance, expected.variance, "variance");
    CHECK(*layer.count == 4.0f * samples);  // Keras counts the values reduced over: samples x rows
}

TEST_CASE("the Net standardizes with the adapted statistics in inference and training", "[normalization]") {
    constexpr std::size_t samples = 70;  // two chunks
    gen::normalized_rows_test::Net net(samples);
    nnfuse::initialize_variables(net, 4);
    const std::vector<float> x = spread_rows(samples * 20, 5, 11);
    nnfuse::adapt(net, x.data(), samples);
    // A variance below epsilon^2: that feature is divided by 1e-7, as Keras's max(sqrt(variance), epsilon).
    variable(net, "normalization/variance:0")[2] = 0.0f;
    const auto mean = variable(net, "normalization/mean:0"), variance = variable(net, "normalization/variance:0");
    const auto kernel = variable(net, "dense/kernel:0");
    auto bias = variable(net, "dense/bias:0");
    bias[1] = 0.5f;
    // y_j = b_j + sum_i z_i K[i][j], z_i = (x_i - mean[i % 5]) / max(sqrt(variance[i % 5]), 1e-7), in double; the
    // Net's float z is within 4u |z|, its float dot product within 20 u sum |z_i K_ij|.
    std::vector<double> expected(samples * 3), tolerance(samples * 3);
    std::vector<float> targets(samples * 3, 0.0f);
    for (std::size_t r = 0; r < samples; ++r) {
        for (std::size_t j = 0; j < 3; ++j) {
            double y = bias[j], magnitude = std::abs(double(bias[j]));
            for (std::size_t i = 0; i < 20; ++i) {
                const std::size_t c = i % 5;
                const double z =
                    (double(x[r * 20 + i]) - double(mean[c])) / std::max(std::sqrt(double(variance[c])), 1e-7);
                y += z * double(kernel[i * 3 + j]);
                magnitude += std::abs(z * double(kernel[i * 3 + j]));
            }
            expected[r * 3 + j] = y;
            tolerance[r * 3 + j] = 24 * kUnit * magnitude;
        }
    }
    std::vector<float> predictions(samples * 3);
    net.predict_batch(x.data(), samples, predictions.data());
    std::size_t outside = 0;
    for (std::size_t i = 0; i < predictions.size(); ++i) {
        outside += std::abs(predictions[i] - expected[i]) <= tolerance[i] ? 0 : 1;
    }
    CHECK(outside == 0);
    // Training's forward pass standardizes the same way: its loss is the MSE of those predictions (targets 0).
    double mse = 0;
    for (float p : predictions) mse += double(p) * double(p) / 3.0;
    const nnfuse::batch_result result = net.train_batch(x.data(), targets.data(), samples);
    CHECK(result.loss_sum == Approx(mse).epsilon(1e-5));
    // Training leaves the statistics alone: they are not trained (no gradient) and not updated.
    for (const auto& v : net.variables()) {
        if (v.name.starts_with("normalization/")) CHECK(v.grad.empty());
    }
    CHECK(variable(net, "normalization/variance:0")[2] == 0.0f);
    CHECK(variable(net, "normalization/count:0")[0] == float(samples * 4));
}

TEST_CASE("a model with normalization learns from features of any offset and scale", "[normalization]") {
    // The label depends on three features in units of their own spread; the features sit thousands away from 0
    // with spreads from 1e-3 to 1e3, which adapt's statistics remove.
    constexpr std::size_t train_rows = 1024, test_rows = 512, batch = 32;
    const auto make = [](std::size_t rows, std::uint32_t seed, std::vector<float>& x, std::vector<float>& t) {
        x = spread_rows(rows * 30, 30, seed);
        t.resize(rows);
        for (std::size_t r = 0; r < rows; ++r) {
            const auto z = [&](std::size_t c) {
                return (double(x[r * 30 + c]) - (double(c) * 1000.0 - 7000.0)) / std::pow(10.0, double(c % 7) - 3.0);
            };
            t[r] = z(1) + z(9) - z(20) > 0 ? 1.0f : 0.0f;
        }
    };
    std::vector<float> x, t, test_x, test_t;
    make(train_rows, 21, x, t);
    make(test_rows, 22, test_x, test_t);
    gen::normalized_binary_test::Net net(train_rows);
    nnfuse::initialize_variables(net, 42);
    nnfuse::adapt(net, x.data(), train_rows);  // the training rows only
    const std::vector<float> adapted_mean(variable(net, "normalization/mean:0").begin(),
                                          variable(net, "normalization/mean:0").end());
    nnfuse::adam optimizer(0.01f);
    std::vector<nnfuse::parameter_ref> trainable;
    for (const auto& v : net.variables()) {
        if (v.trainable) trainable.push_back({v.name, v.value, v.grad});
    }
    std::vector<double> epoch_loss;
    for (std::size_t epoch = 0; epoch < 8; ++epoch) {
        double loss = 0;
        for (std::size_t begin = 0; begin < train_rows; begin += batch) {
            loss += net.train_batch(x.data() + begin * 30, t.data() + begin, batch).loss_sum;
            optimizer.step(trainable);
        }
        epoch_loss.push_back(loss / train_rows);
    }
    INFO("loss by epoch: first " << epoch_loss.front() << ", last " << epoch_loss.back());
    CHECK(epoch_loss.back() < 0.5 * epoch_loss.front());
    // New rows are standardized with the training rows' statistics, which training left as adapt set them.
    CHECK(std::vector<float>(variable(net, "normalization/mean:0").begin(),
                             variable(net, "normalization/mean:0").end()) == adapted_mean);
    const nnfuse::batch_result test = net.evaluate_batch(test_x.data(), test_t.data(), test_rows);
    CHECK(test.metric_sum / test_rows > 0.9);  // binary accuracy
}

TEST_CASE("adapt's errors name the model, the row and the value", "[normalization]") {
    gen::binary_loss_test::Net plain(4);
    const std::vector<float> four(4 * 4, 1.0f);
    CHECK_THROWS_WITH(nnfuse::adapt(plain, four.data(), 4),
                      Catch::Contains("binary_loss_test") && Catch::Contains("no normalization layer"));

    gen::normalized_binary_test::Net net(4);
    nnfuse::initialize_variables(net, 1);
    std::vector<float> x = spread_rows(5 * 30, 30, 2);
    CHECK_THROWS_AS(nnfuse::adapt(net, x.data(), 0), std::invalid_argument);
    CHECK_THROWS_WITH(nnfuse::adapt(net, x.data(), 0),
                      Catch::Contains("normalized_binary_test") && Catch::Contains("row_count is 0"));
    CHECK_THROWS_AS(nnfuse::adapt(net, nullptr, 5), std::invalid_argument);
    x[3 * 30 + 7] = std::nanf("");
    CHECK_THROWS_WITH(nnfuse::adapt(net, x.data(), 5), Catch::Contains("row 3") && Catch::Contains("value 7"));
    x[3 * 30 + 7] = 0.0f;
    x[1 * 30 + 29] = -INFINITY;
    CHECK_THROWS_WITH(nnfuse::adapt(net, x.data(), 5), Catch::Contains("row 1") && Catch::Contains("value 29"));
    x[1 * 30 + 29] = 3e38f;
    x[2 * 30 + 29] = -3e38f;  // finite values whose variance is beyond float
    CHECK_THROWS_WITH(nnfuse::adapt(net, x.data(), 5), Catch::Contains("feature 29"));
    // Nothing changed by the refused calls: still the initial statistics.
    CHECK(variable(net, "normalization/mean:0")[0] == 0.0f);
    CHECK(variable(net, "normalization/variance:0")[29] == 1.0f);
    CHECK(variable(net, "normalization/count:0")[0] == 0.0f);
}
