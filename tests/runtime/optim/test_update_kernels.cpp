// The update kernels (update_kernels.hpp) on every compiled SIMD target, at sizes below, at and above every vector
// width and with tails (0, 1, 7, 16, 33, 784, 15680), on unaligned guarded buffers:
//  - against Keras's formula evaluated in double from the same float inputs, within the rounding bound of the
//    float expression (optim_test_support.hpp): sgd 3 u, momentum 4 u, Nesterov 6 u, Adam 10 u, times the
//    magnitude sum of each result's terms;
//  - bit for bit against the same formula evaluated in float, operation by operation, as the contract promises
//    (what the scalar loops the kernels replaced computed);
//  - nothing outside [0, n) written, g unchanged.
// Compiled without multiply-add fusion (like the kernels), so the float references here are not fused either.
#pragma GCC optimize("fp-contract=off")

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <vector>

#include "runtime/optim/update_kernels.hpp"
#include "tests/runtime/optim/optim_test_support.hpp"

using nnfuse::test::CheckElements;
using nnfuse::test::ForEachUpdateTarget;
using nnfuse::test::Guarded;
using nnfuse::test::SeededValues;
using nnfuse::test::WithinRounding;

namespace {

const std::vector<std::size_t> kSizes = {0, 1, 7, 16, 33, 784, 15680};

constexpr float kLr = 0.01f;
constexpr float kMu = 0.9f;

// The kernel's output: guards intact, then every element as CheckElements does.
void CheckResult(const char* what, const Guarded& actual, const std::vector<double>& exact,
                 const std::vector<double>& magnitude, double roundings, const std::vector<float>& bits) {
    INFO(what);
    REQUIRE(actual.guards_intact());
    CheckElements(actual.values(), exact, magnitude, roundings, bits);
}

void CheckUnchanged(const Guarded& g, const std::vector<float>& original) {
    REQUIRE(g.guards_intact());
    CHECK(std::vector<float>(g.values().begin(), g.values().end()) == original);
}

}  // namespace

TEST_CASE("sgd_update: w -= lr * g on every SIMD target", "[optim][kernels]") {
    for (const std::size_t n : kSizes) {
        INFO("n = " << n);
        const auto w0 = SeededValues(n, -2.0f, 2.0f, 1), g0 = SeededValues(n, -1.0f, 1.0f, 2);
        std::vector<double> exact(n), magnitude(n);
        std::vector<float> bits(n);
        for (std::size_t k = 0; k < n; ++k) {
            exact[k] = double{w0[k]} - double{kLr} * g0[k];
            magnitude[k] = std::abs(double{w0[k]}) + std::abs(double{kLr} * g0[k]);
            bits[k] = w0[k] - kLr * g0[k];
        }
        ForEachUpdateTarget([&](std::int64_t) {
            Guarded w(w0), g(g0);
            nnfuse::sgd_update(w.data(), g.data(), n, kLr);
            CheckResult("w", w, exact, magnitude, 3, bits);
            CheckUnchanged(g, g0);
        });
    }
}

TEST_CASE("sgd_momentum_update: v = mu*v - lr*g; w += v on every SIMD target", "[optim][kernels]") {
    for (const std::size_t n : kSizes) {
        INFO("n = " << n);
        const auto w0 = SeededValues(n, -2.0f, 2.0f, 3), v0 = SeededValues(n, -0.5f, 0.5f, 4),
                   g0 = SeededValues(n, -1.0f, 1.0f, 5);
        std::vector<double> v_exact(n), v_mag(n), w_exact(n), w_mag(n);
        std::vector<float> v_bits(n), w_bits(n);
        for (std::size_t k = 0; k < n; ++k) {
            v_exact[k] = double{kMu} * v0[k] - double{kLr} * g0[k];
            v_mag[k] = std::abs(double{kMu} * v0[k]) + std::abs(double{kLr} * g0[k]);
            w_exact[k] = w0[k] + v_exact[k];
            w_mag[k] = std::abs(double{w0[k]}) + v_mag[k];
            v_bits[k] = kMu * v0[k] - kLr * g0[k];
            w_bits[k] = w0[k] + v_bits[k];
        }
        ForEachUpdateTarget([&](std::int64_t) {
            Guarded w(w0), v(v0), g(g0);
            nnfuse::sgd_momentum_update(w.data(), v.data(), g.data(), n, kLr, kMu);
            CheckResult("v", v, v_exact, v_mag, 3, v_bits);
            CheckResult("w", w, w_exact, w_mag, 4, w_bits);
            CheckUnchanged(g, g0);
        });
    }
}

TEST_CASE("sgd_nesterov_update: v = mu*v - lr*g; w += mu*v - lr*g on every SIMD target", "[optim][kernels]") {
    for (const std::size_t n : kSizes) {
        INFO("n = " << n);
        const auto w0 = SeededValues(n, -2.0f, 2.0f, 6), v0 = SeededValues(n, -0.5f, 0.5f, 7),
                   g0 = SeededValues(n, -1.0f, 1.0f, 8);
        std::vector<double> v_exact(n), v_mag(n), w_exact(n), w_mag(n);
        std::vector<float> v_bits(n), w_bits(n);
        for (std::size_t k = 0; k < n; ++k) {
            const double lr_g = double{kLr} * g0[k];
            v_exact[k] = double{kMu} * v0[k] - lr_g;
            v_mag[k] = std::abs(double{kMu} * v0[k]) + std::abs(lr_g);
            w_exact[k] = w0[k] + (double{kMu} * v_exact[k] - lr_g);
            w_mag[k] = std::abs(double{w0[k]}) + double{kMu} * v_mag[k] + std::abs(lr_g);
            v_bits[k] = kMu * v0[k] - kLr * g0[k];
            w_bits[k] = w0[k] + (kMu * v_bits[k] - kLr * g0[k]);
        }
        ForEachUpdateTarget([&](std::int64_t) {
            Guarded w(w0), v(v0), g(g0);
            nnfuse::sgd_nesterov_update(w.data(), v.data(), g.data(), n, kLr, kMu);
            CheckResult("v", v, v_exact, v_mag, 3, v_bits);
            CheckResult("w", w, w_exact, w_mag, 6, w_bits);
            CheckUnchanged(g, g0);
        });
    }
}

TEST_CASE("adam_update: m, v moving averages; w -= alpha*m/(sqrt(v)+eps) on every SIMD target", "[optim][kernels]") {
    // Keras's defaults at step t = 3: alpha = lr sqrt(1 - b2^3) / (1 - b1^3), rounded to float as adam does.
    const float b1 = 0.9f, b2 = 0.999f, one_minus_b1 = 1.0f - b1, one_minus_b2 = 1.0f - b2, eps = 1e-7f;
    const auto alpha =
        static_cast<float>(1e-3 * std::sqrt(1 - std::pow(double{b2}, 3)) / (1 - std::pow(double{b1}, 3)));
    for (const std::size_t n : kSizes) {
        INFO("n = " << n);
        // Second moments are non-negative and of the order of g^2; some m, v and g are exactly zero (every 5th).
        const auto w0 = SeededValues(n, -2.0f, 2.0f, 9), m0 = SeededValues(n, -0.5f, 0.5f, 10),
                   v0 = SeededValues(n, 0.0f, 0.25f, 11), g0 = SeededValues(n, -1.0f, 1.0f, 12);
        std::vector<double> m_exact(n), m_mag(n), v_exact(n), w_exact(n), w_mag(n);
        std::vector<float> m_bits(n), v_bits(n), w_bits(n);
        for (std::size_t k = 0; k < n; ++k) {
            const double g = g0[k];
            m_exact[k] = double{b1} * m0[k] + double{one_minus_b1} * g;
            m_mag[k] = std::abs(double{b1} * m0[k]) + std::abs(double{one_minus_b1} * g);
            v_exact[k] = double{b2} * v0[k] + double{one_minus_b2} * g * g;  // a sum of non-negative terms
            const double denominator = std::sqrt(v_exact[k]) + double{eps};
            w_exact[k] = w0[k] - double{alpha} * m_exact[k] / denominator;
            w_mag[k] = std::abs(double{w0[k]}) + double{alpha} * m_mag[k] / denominator;
            m_bits[k] = b1 * m0[k] + one_minus_b1 * g0[k];
            v_bits[k] = b2 * v0[k] + one_minus_b2 * g0[k] * g0[k];
            w_bits[k] = w0[k] - alpha * m_bits[k] / (std::sqrt(v_bits[k]) + eps);
        }
        ForEachUpdateTarget([&](std::int64_t) {
            Guarded w(w0), m(m0), v(v0), g(g0);
            nnfuse::adam_update(w.data(), m.data(), v.data(), g.data(), n, alpha, b1, one_minus_b1, b2, one_minus_b2,
                                eps);
            CheckResult("m", m, m_exact, m_mag, 3, m_bits);
            CheckResult("v", v, v_exact, v_exact, 4, v_bits);
            CheckResult("w", w, w_exact, w_mag, 10, w_bits);
            CheckUnchanged(g, g0);
        });
    }
}

TEST_CASE("the update kernels dispatch to the best compiled target by default", "[optim][kernels]") {
    hwy::SetSupportedTargetsForTest(0);
    const std::int64_t available = hwy::SupportedTargets() & nnfuse::update_kernels_compiled_targets();
    REQUIRE(available != 0);
    // Highway's target bits: a better target has a lower bit.
    CHECK(nnfuse::update_kernels_target() == (available & -available));
    INFO("dispatching to " << hwy::TargetName(nnfuse::update_kernels_target()));
    CHECK((nnfuse::update_kernels_compiled_targets() & HWY_SCALAR) != 0);
}
