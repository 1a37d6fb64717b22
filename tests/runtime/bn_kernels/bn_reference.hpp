// Double-precision scalar batch normalization, written from docs/design.md's formulas and independent of
// runtime/kernels: the expected values of the kernel tests, the objective of the finite-difference
// checks, and the magnitudes that scale the tolerances.
//
// Layout as the kernels: x, dy are row-major [rows, features]; gamma/beta nullptr mean 1/0.
// Activation derivatives are taken with respect to the pre-activation z (the kernels use the output).
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "dsl/activation.hpp"
#include "tests/support/activation_reference.hpp"

namespace nnfuse::test {

struct bn_moments_ref {
    std::vector<double> mean, var;  // biased variance
};

inline bn_moments_ref moments_ref(const std::vector<float>& x, std::size_t rows, std::size_t features) {
    bn_moments_ref out{std::vector<double>(features, 0.0), std::vector<double>(features, 0.0)};
    for (std::size_t c = 0; c < features; ++c) {
        double sum = 0;
        for (std::size_t r = 0; r < rows; ++r) sum += x[r * features + c];
        const double mean = sum / static_cast<double>(rows);
        double sum_sq = 0;
        for (std::size_t r = 0; r < rows; ++r) {
            const double dev = x[r * features + c] - mean;
            sum_sq += dev * dev;
        }
        out.mean[c] = mean;
        out.var[c] = sum_sq / static_cast<double>(rows);
    }
    return out;
}

struct bn_train_ref {
    std::vector<double> mean, var, inv_std, y;
};

inline bn_train_ref forward_train_ref(const std::vector<float>& x, std::size_t rows, std::size_t features,
                                      double epsilon, const float* gamma, const float* beta, activation_kind act) {
    bn_moments_ref moments = moments_ref(x, rows, features);
    bn_train_ref out{std::move(moments.mean), std::move(moments.var), std::vector<double>(features),
                     std::vector<double>(rows * features)};
    for (std::size_t c = 0; c < features; ++c) {
        out.inv_std[c] = 1.0 / std::sqrt(out.var[c] + epsilon);
        const double g = gamma ? gamma[c] : 1.0;
        const double b = beta ? beta[c] : 0.0;
        for (std::size_t r = 0; r < rows; ++r) {
            const std::size_t i = r * features + c;
            out.y[i] = ActivationReference(act, g * (x[i] - out.mean[c]) * out.inv_std[c] + b);
        }
    }
    return out;
}

inline std::vector<double> forward_infer_ref(const std::vector<float>& x, std::size_t rows, std::size_t features,
                                             double epsilon, const float* gamma, const float* beta,
                                             const float* moving_mean, const float* moving_var, activation_kind act) {
    std::vector<double> y(rows * features);
    for (std::size_t c = 0; c < features; ++c) {
        const double s = (gamma ? gamma[c] : 1.0) / std::sqrt(moving_var[c] + epsilon);
        const double t = (beta ? beta[c] : 0.0) - moving_mean[c] * s;
        for (std::size_t r = 0; r < rows; ++r)
            y[r * features + c] = ActivationReference(act, x[r * features + c] * s + t);
    }
    return y;
}

// The gradients, and for each the sum of the magnitudes of its terms: a float computation of a sum
// is accurate relative to that, not to the (possibly cancelled) sum itself.
struct bn_backward_ref {
    std::vector<double> dgamma, dbeta, dx;
    std::vector<double> dgamma_scale, dbeta_scale, dx_scale;
};

// The backward contract evaluated for given batch statistics (mean, 1/sqrt(var + epsilon)).
inline bn_backward_ref backward_given_statistics_ref(const std::vector<float>& x, const std::vector<float>& dy,
                                                     std::size_t rows, std::size_t features,
                                                     const std::vector<double>& mean,
                                                     const std::vector<double>& inv_std, const float* gamma,
                                                     const float* beta, activation_kind act) {
    const double m = static_cast<double>(rows);
    bn_backward_ref out;
    for (auto* v : {&out.dgamma, &out.dbeta, &out.dgamma_scale, &out.dbeta_scale}) v->assign(features, 0.0);
    out.dx.assign(rows * features, 0.0);
    out.dx_scale.assign(rows * features, 0.0);
    std::vector<double> xhat(rows), dz(rows);
    for (std::size_t c = 0; c < features; ++c) {
        const double inv = inv_std[c];
        const double g = gamma ? gamma[c] : 1.0;
        const double b = beta ? beta[c] : 0.0;
        for (std::size_t r = 0; r < rows; ++r) {
            const std::size_t i = r * features + c;
            xhat[r] = (x[i] - mean[c]) * inv;
            dz[r] = dy[i] * DerivativeReference(act, g * xhat[r] + b);
            out.dbeta[c] += dz[r];
            out.dgamma[c] += dz[r] * xhat[r];
            out.dbeta_scale[c] += std::abs(dz[r]);
            out.dgamma_scale[c] += std::abs(dz[r] * xhat[r]);
        }
        for (std::size_t r = 0; r < rows; ++r) {
            const std::size_t i = r * features + c;
            out.dx[i] = g * inv / m * (m * dz[r] - out.dbeta[c] - xhat[r] * out.dgamma[c]);
            out.dx_scale[i] = std::abs(g) * inv / m *
                              (m * std::abs(dz[r]) + out.dbeta_scale[c] + std::abs(xhat[r]) * out.dgamma_scale[c]);
        }
    }
    return out;
}

// The backward contract with the batch statistics of x.
inline bn_backward_ref backward_ref(const std::vector<float>& x, const std::vector<float>& dy, std::size_t rows,
                                    std::size_t features, double epsilon, const float* gamma, const float* beta,
                                    activation_kind act) {
    const bn_moments_ref moments = moments_ref(x, rows, features);
    std::vector<double> inv_std(features);
    for (std::size_t c = 0; c < features; ++c) inv_std[c] = 1.0 / std::sqrt(moments.var[c] + epsilon);
    return backward_given_statistics_ref(x, dy, rows, features, moments.mean, inv_std, gamma, beta, act);
}

// sum_r dy[r] * Act(gamma * (x[r] - mean) / sqrt(var + epsilon) + beta) for one feature's column, the
// batch statistics depending on x: the function whose gradient BnBackward computes.
inline double column_objective_ref(const std::vector<double>& x, const std::vector<double>& dy, double gamma,
                                   double beta, double epsilon, activation_kind act) {
    const double m = static_cast<double>(x.size());
    double mean = 0;
    for (double v : x) mean += v;
    mean /= m;
    double var = 0;
    for (double v : x) var += (v - mean) * (v - mean);
    var /= m;
    const double inv = 1.0 / std::sqrt(var + epsilon);
    double f = 0;
    for (std::size_t r = 0; r < x.size(); ++r)
        f += dy[r] * ActivationReference(act, gamma * (x[r] - mean) * inv + beta);
    return f;
}

// The worst |actual - expected| / (tolerance * scale) over a vector; <= 1 passes.
template <class Scale>
double worst_ratio(const std::vector<float>& actual, const std::vector<double>& expected, double tolerance,
                   const Scale& scale) {
    double worst = 0;
    for (std::size_t i = 0; i < actual.size(); ++i) {
        const double ratio = std::abs(actual[i] - expected[i]) / (tolerance * scale(i));
        if (!(ratio <= worst)) worst = ratio;  // NaN stays the worst
    }
    return worst;
}

}  // namespace nnfuse::test
