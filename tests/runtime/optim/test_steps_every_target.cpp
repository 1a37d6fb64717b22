// sgd and adam objects on every compiled SIMD target, with the reference model's parameter shapes (a 784x20 kernel,
// a bias, a BN vector) and an odd-sized one: each of a few steps against Keras's rule evaluated in double from the
// state before the step (the weights and the slots read through state()), within the rounding bound of the float
// expression (optim_test_support.hpp), and bit for bit against the same rule evaluated in float operation by
// operation, which is what the scalar loops computed before the update kernels, on every target.
// Compiled without multiply-add fusion, so the float references are not fused either.
#pragma GCC optimize("fp-contract=off")

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/optim/adam.hpp"
#include "runtime/optim/sgd.hpp"
#include "tests/runtime/optim/optim_test_support.hpp"

using nnfuse::parameter_ref;
using nnfuse::test::CheckElements;
using nnfuse::test::ForEachUpdateTarget;
using nnfuse::test::SeededValues;

namespace {

constexpr int kSteps = 3;

// Parameters shaped like the reference model's, with fresh seeded gradients at every step.
struct Parameters {
    std::vector<std::string> names = {"dense/kernel", "dense/bias", "batch_normalization/gamma", "odd"};
    std::vector<std::vector<float>> w, g;

    Parameters() {
        const std::size_t sizes[] = {784 * 20, 20, 784, 7};
        for (std::size_t i = 0; i < names.size(); ++i) {
            w.push_back(SeededValues(sizes[i], -1.0f, 1.0f, static_cast<std::uint32_t>(100 + i)));
            g.emplace_back(sizes[i]);
        }
    }
    void new_gradients(int step) {
        for (std::size_t i = 0; i < g.size(); ++i) {
            g[i] = SeededValues(g[i].size(), -0.5f, 0.5f, static_cast<std::uint32_t>(1000 * step + i));
        }
    }
    std::vector<parameter_ref> refs() {
        std::vector<parameter_ref> params;
        for (std::size_t i = 0; i < names.size(); ++i) params.push_back({names[i], w[i], g[i]});
        return params;
    }
};

std::vector<std::vector<float>> SlotValues(nnfuse::optimizer& opt) {
    std::vector<std::vector<float>> values;
    for (const auto& slot : opt.state()) values.emplace_back(slot.values.begin(), slot.values.end());
    return values;
}

void RunSgd(float lr, float mu, bool nesterov) {
    ForEachUpdateTarget([&](std::int64_t) {
        Parameters p;
        nnfuse::sgd opt(lr, mu, nesterov);
        opt.prepare(p.refs());
        for (int step = 0; step < kSteps; ++step) {
            INFO("step " << step);
            p.new_gradients(step);
            const auto w0 = p.w;
            const auto v0 = SlotValues(opt);
            REQUIRE(v0.size() == (mu > 0.0f ? p.w.size() : 0));
            opt.step(p.refs());
            const auto v1 = SlotValues(opt);
            for (std::size_t i = 0; i < p.w.size(); ++i) {
                INFO("parameter " << p.names[i]);
                const std::size_t n = p.w[i].size();
                const auto& g = p.g[i];
                std::vector<double> v_exact(n), v_mag(n), w_exact(n), w_mag(n);
                std::vector<float> v_bits(n), w_bits(n);
                double w_roundings = 3;
                for (std::size_t k = 0; k < n; ++k) {
                    const double w = w0[i][k], lr_g = double{lr} * g[k];
                    if (mu == 0.0f) {
                        w_exact[k] = w - lr_g;
                        w_mag[k] = std::abs(w) + std::abs(lr_g);
                        w_bits[k] = w0[i][k] - lr * g[k];
                        continue;
                    }
                    const double v = v0[i][k];
                    v_exact[k] = double{mu} * v - lr_g;
                    v_mag[k] = std::abs(double{mu} * v) + std::abs(lr_g);
                    v_bits[k] = mu * v0[i][k] - lr * g[k];
                    if (nesterov) {
                        w_exact[k] = w + (double{mu} * v_exact[k] - lr_g);
                        w_mag[k] = std::abs(w) + double{mu} * v_mag[k] + std::abs(lr_g);
                        w_bits[k] = w0[i][k] + (mu * v_bits[k] - lr * g[k]);
                        w_roundings = 6;
                    } else {
                        w_exact[k] = w + v_exact[k];
                        w_mag[k] = std::abs(w) + v_mag[k];
                        w_bits[k] = w0[i][k] + v_bits[k];
                        w_roundings = 4;
                    }
                }
                {
                    INFO("weights");
                    CheckElements(p.w[i], w_exact, w_mag, w_roundings, w_bits);
                }
                if (mu > 0.0f) {
                    INFO("momentum");
                    CheckElements(v1[i], v_exact, v_mag, 3, v_bits);
                }
            }
        }
        CHECK(opt.iterations() == kSteps);
    });
}

void RunAdam(float lr, float b1, float b2, float eps) {
    ForEachUpdateTarget([&](std::int64_t) {
        Parameters p;
        nnfuse::adam opt(lr, b1, b2, eps);
        opt.prepare(p.refs());
        for (int step = 0; step < kSteps; ++step) {
            INFO("step " << step);
            p.new_gradients(step);
            const auto w0 = p.w;
            const auto slots0 = SlotValues(opt);  // parameter-major: m, v of each parameter
            REQUIRE(slots0.size() == 2 * p.w.size());
            opt.step(p.refs());
            const auto slots1 = SlotValues(opt);
            const int t = step + 1;
            // Keras: alpha = lr sqrt(1 - b2^t) / (1 - b1^t); adam rounds it to float once per step (adam.hpp).
            const double alpha = lr * std::sqrt(1.0 - std::pow(double{b2}, t)) / (1.0 - std::pow(double{b1}, t));
            const auto alpha_f = static_cast<float>(alpha);
            for (std::size_t i = 0; i < p.w.size(); ++i) {
                INFO("parameter " << p.names[i]);
                const std::size_t n = p.w[i].size();
                const auto& g = p.g[i];
                const auto& m0 = slots0[2 * i];
                const auto& v0 = slots0[2 * i + 1];
                std::vector<double> m_exact(n), m_mag(n), v_exact(n), w_exact(n), w_mag(n);
                std::vector<float> m_bits(n), v_bits(n), w_bits(n);
                for (std::size_t k = 0; k < n; ++k) {
                    const double gk = g[k];
                    m_exact[k] = double{b1} * m0[k] + (1.0 - b1) * gk;
                    m_mag[k] = std::abs(double{b1} * m0[k]) + std::abs((1.0 - b1) * gk);
                    v_exact[k] = double{b2} * v0[k] + (1.0 - b2) * gk * gk;
                    const double denominator = std::sqrt(v_exact[k]) + eps;
                    w_exact[k] = w0[i][k] - alpha * m_exact[k] / denominator;
                    w_mag[k] = std::abs(double{w0[i][k]}) + alpha * m_mag[k] / denominator;
                    m_bits[k] = b1 * m0[k] + (1.0f - b1) * g[k];
                    v_bits[k] = b2 * v0[k] + (1.0f - b2) * g[k] * g[k];
                    w_bits[k] = w0[i][k] - alpha_f * m_bits[k] / (std::sqrt(v_bits[k]) + eps);
                }
                {
                    INFO("weights");
                    CheckElements(p.w[i], w_exact, w_mag, 11, w_bits);  // one more rounding: alpha to float
                }
                {
                    INFO("m");
                    CheckElements(slots1[2 * i], m_exact, m_mag, 3, m_bits);
                }
                {
                    INFO("v");
                    CheckElements(slots1[2 * i + 1], v_exact, v_exact, 4, v_bits);
                }
            }
        }
        CHECK(opt.iterations() == kSteps);
    });
}

}  // namespace

TEST_CASE("sgd steps on every SIMD target: plain, momentum, Nesterov", "[optim][sgd][targets]") {
    SECTION("plain") { RunSgd(0.05f, 0.0f, false); }
    SECTION("momentum") { RunSgd(0.05f, 0.9f, false); }
    SECTION("Nesterov") { RunSgd(0.05f, 0.9f, true); }
}

TEST_CASE("adam steps on every SIMD target", "[optim][adam][targets]") {
    SECTION("Keras defaults") { RunAdam(1e-3f, 0.9f, 0.999f, 1e-7f); }
    SECTION("other hyper-parameters") { RunAdam(0.01f, 0.8f, 0.99f, 1e-3f); }
}
