// What bench/bn_kernels times besides the kernels: the plain scalar two-pass batch normalization of the _naive rows
// (row-major loops, per-feature double accumulators as PyTorch's CPU kernel keeps; the caller's buffers, so a timed
// loop allocates nothing), and one layer's tensors and parameters, allocated and first touched outside the timed loop.
// Not the tests' reference (tests/runtime/bn_kernels/bn_reference.hpp): that one is written for exactness (double
// throughout, fresh vectors per call), this one for a fair scalar baseline in time.
#pragma once

#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

#include "hwy/aligned_allocator.h"

namespace nnfuse::bench {

inline void naive_forward_train(const float* x, std::size_t rows, std::size_t features, float epsilon,
                                const float* gamma, const float* beta, double* sum, float* mean, float* var,
                                float* inv_std, float* y) {
    const double m = static_cast<double>(rows);
    for (std::size_t c = 0; c < features; ++c) sum[c] = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < features; ++c) sum[c] += x[r * features + c];
    }
    for (std::size_t c = 0; c < features; ++c) {
        mean[c] = static_cast<float>(sum[c] / m);
        sum[c] = 0;
    }
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < features; ++c) {
            const double dev = x[r * features + c] - mean[c];
            sum[c] += dev * dev;
        }
    }
    for (std::size_t c = 0; c < features; ++c) {
        var[c] = static_cast<float>(sum[c] / m);
        inv_std[c] = static_cast<float>(1.0 / std::sqrt(sum[c] / m + epsilon));
    }
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < features; ++c) {
            const std::size_t i = r * features + c;
            y[i] = gamma[c] * (x[i] - mean[c]) * inv_std[c] + beta[c];
        }
    }
}

inline void naive_forward_infer(const float* x, std::size_t rows, std::size_t features, float epsilon,
                                const float* gamma, const float* beta, const float* moving_mean,
                                const float* moving_var, float* s, float* t, float* y) {
    for (std::size_t c = 0; c < features; ++c) {
        s[c] = gamma[c] / std::sqrt(moving_var[c] + epsilon);
        t[c] = beta[c] - moving_mean[c] * s[c];
    }
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < features; ++c) y[r * features + c] = x[r * features + c] * s[c] + t[c];
    }
}

inline void naive_backward(const float* x, const float* dy, std::size_t rows, std::size_t features, const float* gamma,
                           const float* mean, const float* inv_std, double* sum_dy, double* sum_dy_xhat, float* dgamma,
                           float* dbeta, float* dx) {
    const double m = static_cast<double>(rows);
    for (std::size_t c = 0; c < features; ++c) sum_dy[c] = sum_dy_xhat[c] = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < features; ++c) {
            const std::size_t i = r * features + c;
            sum_dy[c] += dy[i];
            sum_dy_xhat[c] += dy[i] * (x[i] - mean[c]) * inv_std[c];
        }
    }
    for (std::size_t c = 0; c < features; ++c) {
        dbeta[c] = static_cast<float>(sum_dy[c]);
        dgamma[c] = static_cast<float>(sum_dy_xhat[c]);
    }
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < features; ++c) {
            const std::size_t i = r * features + c;
            const float xhat = (x[i] - mean[c]) * inv_std[c];
            dx[i] = static_cast<float>(gamma[c] * inv_std[c] / m * (m * dy[i] - sum_dy[c] - xhat * sum_dy_xhat[c]));
        }
    }
}

// ---------------------------------------------------------------- inputs and runs

// One layer's tensors and parameters, allocated and first touched outside the timed loop.
struct bn_buffers {
    std::size_t rows, features;
    hwy::AlignedFreeUniquePtr<float[]> x, y, dy, dx;
    std::vector<float> gamma, beta, mean, var, inv_std, moving_mean, moving_var, dgamma, dbeta, scratch;
    std::vector<double> sums;

    bn_buffers(std::size_t n, std::size_t c)
        : rows(n),
          features(c),
          x(hwy::AllocateAligned<float>(n * c)),
          y(hwy::AllocateAligned<float>(n * c)),
          dy(hwy::AllocateAligned<float>(n * c)),
          dx(hwy::AllocateAligned<float>(n * c)),
          gamma(c, 1.25f),
          beta(c, 0.5f),
          mean(c),
          var(c),
          inv_std(c),
          moving_mean(c, 0.1f),
          moving_var(c, 2.0f),
          dgamma(c),
          dbeta(c),
          scratch(2 * c),
          sums(2 * c) {
        std::mt19937 rng(42);
        std::normal_distribution<float> normal;
        for (std::size_t i = 0; i < n * c; ++i) {
            x[i] = 3.0f + 2.0f * normal(rng);
            dy[i] = normal(rng);
            y[i] = dx[i] = 0.0f;
        }
    }
    std::size_t elements() const { return rows * features; }
};

}  // namespace nnfuse::bench
