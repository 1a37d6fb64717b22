// sgd: each step against Keras's rule evaluated by hand in double, with and without (Nesterov) momentum.
#include "runtime/optim/sgd.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <stdexcept>
#include <vector>

using Catch::Matchers::Contains;
using nnfuse::parameter_ref;
using nnfuse::sgd;

namespace {

// Three steps of gradients for a 3-value parameter.
const std::vector<std::vector<float>> grads = {{0.5f, -1.0f, 2.0f}, {-0.25f, 0.75f, 1.5f}, {1.0f, 0.0f, -3.0f}};
const std::vector<float> start = {1.0f, -2.0f, 0.5f};

void check_close(const std::vector<float>& actual, const std::vector<double>& expected) {
    REQUIRE(actual.size() == expected.size());
    for (std::size_t k = 0; k < actual.size(); ++k) {
        INFO("index " << k);
        CHECK(actual[k] == Approx(expected[k]).epsilon(1e-6).margin(1e-7));
    }
}

}  // namespace

TEST_CASE("sgd without momentum: w -= lr * g", "[optim][sgd]") {
    sgd opt(0.1f);
    std::vector<float> w = start;
    std::vector<double> expected(start.begin(), start.end());
    for (const auto& g : grads) {
        const parameter_ref p{"w", w, g};
        opt.step({&p, 1});
        for (std::size_t k = 0; k < 3; ++k) expected[k] -= 0.1 * g[k];
        check_close(w, expected);
    }
    CHECK(opt.iterations() == 3);
    CHECK(opt.state().empty());  // Keras keeps no momentum slot when momentum is 0
}

TEST_CASE("sgd with momentum: v = m*v - lr*g; w += v", "[optim][sgd]") {
    sgd opt(0.1f, 0.9f);
    std::vector<float> w = start;
    std::vector<double> expected(start.begin(), start.end()), v(3, 0.0);
    for (const auto& g : grads) {
        const parameter_ref p{"dense/kernel", w, g};
        opt.step({&p, 1});
        for (std::size_t k = 0; k < 3; ++k) {
            v[k] = 0.9 * v[k] - 0.1 * g[k];
            expected[k] += v[k];
        }
        check_close(w, expected);
    }
    const auto state = opt.state();
    REQUIRE(state.size() == 1);
    CHECK(state[0].name == "dense/kernel/momentum");
    check_close(std::vector<float>(state[0].values.begin(), state[0].values.end()), v);
}

TEST_CASE("sgd with Nesterov momentum: w += m*v - lr*g, and it differs from plain momentum", "[optim][sgd]") {
    sgd nesterov(0.1f, 0.9f, true);
    sgd plain(0.1f, 0.9f, false);
    std::vector<float> w = start, w_plain = start;
    std::vector<double> expected(start.begin(), start.end()), v(3, 0.0);
    for (const auto& g : grads) {
        const parameter_ref p{"w", w, g};
        nesterov.step({&p, 1});
        const parameter_ref q{"w", w_plain, g};
        plain.step({&q, 1});
        for (std::size_t k = 0; k < 3; ++k) {
            v[k] = 0.9 * v[k] - 0.1 * g[k];
            expected[k] += 0.9 * v[k] - 0.1 * g[k];
        }
        check_close(w, expected);
    }
    CHECK(w != w_plain);
    // Nesterov with momentum 0 is plain SGD, as in Keras.
    sgd no_momentum(0.1f, 0.0f, true);
    std::vector<float> w0 = start;
    const parameter_ref p0{"w", w0, grads[0]};
    no_momentum.step({&p0, 1});
    check_close(w0, {1.0 - 0.05, -2.0 + 0.1, 0.5 - 0.2});
}

TEST_CASE("sgd updates only the parameters it is given, each with its own momentum", "[optim][sgd]") {
    // Two parameters that are windows into one buffer; the values around them must not move.
    std::vector<float> buffer(12, 7.0f);
    const std::vector<float> g1 = {1.0f, 2.0f}, g2 = {-1.0f, 0.5f, 4.0f};
    const std::vector<float> g1_copy = g1, g2_copy = g2;
    const std::vector<parameter_ref> params = {{"a", std::span(buffer).subspan(2, 2), g1},
                                               {"b", std::span(buffer).subspan(6, 3), g2}};
    sgd opt(0.5f, 0.5f);
    opt.step(params);
    opt.step(params);
    // Per value: v1 = -0.5g, w1 = 7 - 0.5g; v2 = -0.25g - 0.5g = -0.75g, w2 = 7 - 1.25g.
    const std::vector<float> expected = {7, 7, 7 - 1.25f, 7 - 2.5f, 7, 7, 7 + 1.25f, 7 - 0.625f, 7 - 5.0f, 7, 7, 7};
    for (std::size_t k = 0; k < buffer.size(); ++k) {
        INFO("buffer index " << k);
        CHECK(buffer[k] == Approx(expected[k]).epsilon(1e-6));
    }
    CHECK(g1 == g1_copy);
    CHECK(g2 == g2_copy);
    const auto state = opt.state();
    REQUIRE(state.size() == 2);
    CHECK(state[0].name == "a/momentum");
    CHECK(state[1].name == "b/momentum");
    CHECK(state[1].values.size() == 3);
    CHECK(state[1].values[2] == Approx(-0.75 * 4.0));
}

TEST_CASE("sgd requires the same parameter list on every step", "[optim][sgd]") {
    std::vector<float> a(3), b(2), g3(3), g2(2);
    sgd opt(0.1f, 0.9f);
    const std::vector<parameter_ref> first = {{"a", a, g3}, {"b", b, g2}};
    opt.step(first);

    const std::vector<parameter_ref> fewer = {{"a", a, g3}};
    CHECK_THROWS_WITH(opt.step(fewer), Contains("state was built for 2 parameters, this step has 1"));
    const std::vector<parameter_ref> resized = {{"a", a, g3}, {"b", a, g3}};
    CHECK_THROWS_WITH(opt.step(resized), Contains("parameter 1 is 'b' with 3 values, but the state was built for "
                                                  "'b' with 2 values"));
    const std::vector<parameter_ref> swapped = {{"b", b, g2}, {"a", a, g3}};
    CHECK_THROWS_AS(opt.step(swapped), std::invalid_argument);
    const std::vector<parameter_ref> grad_mismatch = {{"a", a, g2}, {"b", b, g2}};
    CHECK_THROWS_WITH(opt.step(grad_mismatch), Contains("parameter 0 'a' has 3 values but 2 gradients"));
    CHECK(opt.iterations() == 1);  // failed steps count for nothing
}

TEST_CASE("sgd rejects bad hyper-parameters, naming them", "[optim][sgd]") {
    const float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH(sgd(0.0f), Contains("sgd: learning_rate must be finite and > 0, got 0"));
    CHECK_THROWS_WITH(sgd(-0.01f), Contains("learning_rate") && Contains("-0.01"));
    CHECK_THROWS_WITH(sgd(inf), Contains("learning_rate") && Contains("inf"));
    CHECK_THROWS_WITH(sgd(nan), Contains("learning_rate") && Contains("nan"));
    CHECK_THROWS_WITH(sgd(0.01f, -0.1f), Contains("sgd: momentum must be in [0, 1), got -0.1"));
    CHECK_THROWS_WITH(sgd(0.01f, 1.0f), Contains("momentum must be in [0, 1), got 1"));
    CHECK_THROWS_WITH(sgd(0.01f, nan), Contains("momentum") && Contains("nan"));
    CHECK_THROWS_AS(sgd(0.0f), std::invalid_argument);
    CHECK_NOTHROW(sgd(0.01f, 0.99f, true));
    sgd opt;
    CHECK(opt.learning_rate() == 0.01f);
    CHECK(opt.momentum() == 0.0f);
    CHECK_FALSE(opt.nesterov());
    CHECK_THROWS_AS(opt.set_learning_rate(-1.0f), std::invalid_argument);
    opt.set_learning_rate(0.5f);
    CHECK(opt.learning_rate() == 0.5f);
}
