// adam: each step against Keras's rule evaluated by hand in double; state and resume.
#include "runtime/optim/adam.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

using Catch::Matchers::Contains;
using nnfuse::adam;
using nnfuse::parameter_ref;

namespace {

const std::vector<std::vector<float>> grads = {
    {0.5f, -1.0f, 2.0f, 0.0f}, {-0.25f, 0.75f, 1.5f, 0.0f}, {1.0f, 0.0f, -3.0f, 1e-4f}, {0.1f, -0.2f, 0.3f, -0.4f}};
const std::vector<float> start = {1.0f, -2.0f, 0.5f, 0.25f};

struct adam_reference {
    double lr, b1, b2, eps;
    std::vector<double> w, m, v;
    int t = 0;
    void step(const std::vector<float>& g) {
        ++t;
        const double alpha = lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
        for (std::size_t k = 0; k < w.size(); ++k) {
            m[k] = b1 * m[k] + (1 - b1) * g[k];
            v[k] = b2 * v[k] + (1 - b2) * double(g[k]) * g[k];
            w[k] -= alpha * m[k] / (std::sqrt(v[k]) + eps);
        }
    }
};

void check_close(std::span<const float> actual, const std::vector<double>& expected) {
    REQUIRE(actual.size() == expected.size());
    for (std::size_t k = 0; k < actual.size(); ++k) {
        INFO("index " << k);
        CHECK(actual[k] == Approx(expected[k]).epsilon(1e-5).margin(1e-7));
    }
}

}  // namespace

TEST_CASE("adam follows Keras's update, default hyper-parameters", "[optim][adam]") {
    adam opt;
    CHECK(opt.learning_rate() == 1e-3f);
    CHECK(opt.beta_1() == 0.9f);
    CHECK(opt.beta_2() == 0.999f);
    CHECK(opt.epsilon() == 1e-7f);
    // Reference in double with the float hyper-parameters, as the optimizer holds them.
    adam_reference ref{
        1e-3f, 0.9f, 0.999f, 1e-7f, {start.begin(), start.end()}, std::vector<double>(4), std::vector<double>(4)};
    std::vector<float> w = start;
    for (const auto& g : grads) {
        const parameter_ref p{"dense/kernel", w, g};
        opt.step({&p, 1});
        ref.step(g);
        check_close(w, ref.w);
    }
    CHECK(opt.iterations() == 4);
    const auto state = opt.state();
    REQUIRE(state.size() == 2);
    CHECK(state[0].name == "dense/kernel/m");
    CHECK(state[1].name == "dense/kernel/v");
    check_close(state[0].values, ref.m);
    check_close(state[1].values, ref.v);
}

TEST_CASE("adam follows Keras's update, other hyper-parameters", "[optim][adam]") {
    adam opt(0.05f, 0.5f, 0.75f, 0.1f);
    adam_reference ref{
        0.05f, 0.5f, 0.75f, 0.1f, {start.begin(), start.end()}, std::vector<double>(4), std::vector<double>(4)};
    std::vector<float> w = start;
    for (const auto& g : grads) {
        const parameter_ref p{"w", w, g};
        opt.step({&p, 1});
        ref.step(g);
        check_close(w, ref.w);
    }
}

TEST_CASE("adam's first step is lr * sign(g) for gradients well above epsilon", "[optim][adam]") {
    adam opt(0.01f);
    std::vector<float> w = {0.0f, 0.0f, 0.0f};
    const std::vector<float> g = {3.0f, -0.5f, 0.0f};
    const parameter_ref p{"w", w, g};
    opt.step({&p, 1});
    CHECK(w[0] == Approx(-0.01).epsilon(1e-5));
    CHECK(w[1] == Approx(0.01).epsilon(1e-5));
    CHECK(w[2] == 0.0f);
}

TEST_CASE("adam updates only the parameters it is given", "[optim][adam]") {
    std::vector<float> buffer(10, 1.0f);
    const std::vector<float> g = {1.0f, -1.0f};
    const std::vector<parameter_ref> params = {{"a", std::span(buffer).subspan(4, 2), g}};
    adam opt(0.1f);
    opt.step(params);
    for (std::size_t k = 0; k < buffer.size(); ++k) {
        INFO("buffer index " << k);
        if (k == 4)
            CHECK(buffer[k] == Approx(0.9).epsilon(1e-5));
        else if (k == 5)
            CHECK(buffer[k] == Approx(1.1).epsilon(1e-5));
        else
            CHECK(buffer[k] == 1.0f);
    }
    CHECK(g == std::vector<float>{1.0f, -1.0f});
}

TEST_CASE("adam resumes exactly from its saved state and iteration count", "[optim][adam]") {
    std::vector<float> w1 = start, w2 = start;
    adam original(0.01f);
    for (std::size_t s = 0; s < 3; ++s) {
        const parameter_ref p{"w", w1, grads[s]};
        original.step({&p, 1});
    }
    // A fresh optimizer gets the slots and the count, as a checkpoint loader would restore them.
    w2 = w1;
    adam restored(0.01f);
    const parameter_ref p2{"w", w2, grads[3]};
    restored.prepare({&p2, 1});
    CHECK(restored.iterations() == 0);
    auto from = original.state();
    auto to = restored.state();
    REQUIRE(from.size() == to.size());
    for (std::size_t s = 0; s < from.size(); ++s) {
        REQUIRE(from[s].name == to[s].name);
        std::copy(from[s].values.begin(), from[s].values.end(), to[s].values.begin());
    }
    restored.set_iterations(original.iterations());

    const parameter_ref p1{"w", w1, grads[3]};
    original.step({&p1, 1});
    restored.step({&p2, 1});
    CHECK(std::memcmp(w1.data(), w2.data(), w1.size() * sizeof(float)) == 0);
    CHECK(restored.iterations() == 4);
}

TEST_CASE("adam requires the same parameter list on every step", "[optim][adam]") {
    std::vector<float> a(3), g(3), g2(2);
    adam opt;
    const parameter_ref p{"a", a, g};
    opt.step({&p, 1});
    const parameter_ref renamed{"b", a, g};
    CHECK_THROWS_WITH(opt.step({&renamed, 1}), Contains("adam: parameter 0 is 'b' with 3 values, but the state was "
                                                        "built for 'a' with 3 values"));
    const parameter_ref short_grad{"a", a, g2};
    CHECK_THROWS_WITH(opt.step({&short_grad, 1}), Contains("adam: parameter 0 'a' has 3 values but 2 gradients"));
    CHECK_THROWS_WITH(opt.step({}), Contains("state was built for 1 parameters, this step has 0"));
}

TEST_CASE("adam rejects bad hyper-parameters, naming them", "[optim][adam]") {
    const float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH(adam(0.0f), Contains("adam: learning_rate must be finite and > 0, got 0"));
    CHECK_THROWS_WITH(adam(nan), Contains("learning_rate") && Contains("nan"));
    CHECK_THROWS_WITH(adam(1e-3f, 1.0f), Contains("adam: beta_1 must be in [0, 1), got 1"));
    CHECK_THROWS_WITH(adam(1e-3f, -0.5f), Contains("beta_1 must be in [0, 1), got -0.5"));
    CHECK_THROWS_WITH(adam(1e-3f, 0.9f, 1.0f), Contains("adam: beta_2 must be in [0, 1), got 1"));
    CHECK_THROWS_WITH(adam(1e-3f, 0.9f, nan), Contains("beta_2") && Contains("nan"));
    CHECK_THROWS_WITH(adam(1e-3f, 0.9f, 0.999f, 0.0f), Contains("adam: epsilon must be finite and > 0, got 0"));
    CHECK_THROWS_WITH(adam(1e-3f, 0.9f, 0.999f, -1e-7f), Contains("epsilon") && Contains("-1e-07"));
    CHECK_THROWS_WITH(adam(1e-3f, 0.9f, 0.999f, inf), Contains("epsilon") && Contains("inf"));
    CHECK_THROWS_AS(adam(-1.0f), std::invalid_argument);
    CHECK_NOTHROW(adam(1e-3f, 0.0f, 0.0f, 1e-8f));
}
