// The batch-normalization backward kernel on every SIMD target: against the double reference given the same
// statistics, against central finite differences of sum(dy * bn(x)) (the chunked passes too), and without dx.
// Tolerances: bn_kernel_harness.hpp.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <limits>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/runtime/bn_kernels/bn_kernel_harness.hpp"

namespace nnfuse::test {

TEST_CASE("bn backward matches the double reference", "[bn_kernels]") {
    for (std::size_t config = 0; config < bn_config_count; ++config) {
        for (const std::size_t rows : batch_sizes) {
            const bn_config& k = bn_configs[config];
            INFO(describe(k, rows));
            const bn_data data = make_data(rows, k.features, static_cast<std::uint32_t>(rows * 1000 + config + 2));
            const train_result inputs = forward_from_reference(config, data, keras_epsilon);
            const bn_backward_ref ref = backward_expected(config, data, inputs);
            for_each_target([&] { check_backward(config, data, inputs, ref); });
        }
    }
}

TEST_CASE("bn backward over many blocks matches the double reference", "[bn_kernels]") {
    const std::size_t rows = 65536 + 37;
    for (const std::size_t config : {config_index(16), config_index(37, activation_kind::elu)}) {
        const bn_config& k = bn_configs[config];
        INFO(describe(k, rows));
        const bn_data data = make_data(rows, k.features, 11);
        const train_result inputs = forward_from_reference(config, data, keras_epsilon);
        const bn_backward_ref ref = backward_expected(config, data, inputs);
        for_each_target([&] { check_backward(config, data, inputs, ref); });
    }
}

TEST_CASE("bn backward equals central finite differences of sum(dy * bn(x))", "[bn_kernels]") {
    // Smooth activations only: relu has no derivative at 0.
    const std::vector<std::size_t> configs = {config_index(1),
                                              config_index(7),
                                              config_index(16),
                                              config_index(37),
                                              config_index(784),
                                              config_index(1, activation_kind::tanh),
                                              config_index(7, activation_kind::elu),
                                              config_index(16, activation_kind::sigmoid),
                                              config_index(37, activation_kind::elu),
                                              config_index(37, activation_kind::sigmoid),
                                              config_index(37, activation_kind::tanh),
                                              config_index(37, activation_kind::selu),
                                              config_index(37, activation_kind::linear, false, true),
                                              config_index(37, activation_kind::linear, true, false),
                                              config_index(7, activation_kind::tanh, false, false),
                                              config_index(16, activation_kind::elu, true, false)};
    for (const std::size_t config : configs) {
        for (const std::size_t rows : batch_sizes) {
            const bn_config& k = bn_configs[config];
            INFO(describe(k, rows));
            const bn_data data = make_data(rows, k.features, static_cast<std::uint32_t>(rows * 1000 + config + 3));
            const bn_backward_ref scales = backward_ref(data.x, data.dy, rows, k.features, keras_epsilon,
                                                        gamma_of(data, k), beta_of(data, k), k.act);
            // The kernels recompute xhat from the float batch mean. Where a column's values are close
            // together (two rows, var << epsilon) that rounding alone moves the gradients: allow what
            // moving the mean by two float ulps does to the exact contract.
            std::vector<double> dgamma_slack(k.features), dbeta_slack(k.features), dx_slack(data.x.size());
            {
                const bn_moments_ref moments = moments_ref(data.x, rows, k.features);
                std::vector<double> inv_std(k.features);
                for (std::size_t c = 0; c < k.features; ++c) {
                    inv_std[c] = 1.0 / std::sqrt(moments.var[c] + keras_epsilon);
                }
                const bn_backward_ref exact =
                    backward_given_statistics_ref(data.x, data.dy, rows, k.features, moments.mean, inv_std,
                                                  gamma_of(data, k), beta_of(data, k), k.act);
                for (const double direction : {-1.0, 1.0}) {
                    std::vector<double> moved = moments.mean;
                    for (double& mean : moved) mean += direction * 2 * std::numeric_limits<float>::epsilon() * mean;
                    const bn_backward_ref shifted = backward_given_statistics_ref(
                        data.x, data.dy, rows, k.features, moved, inv_std, gamma_of(data, k), beta_of(data, k), k.act);
                    for (std::size_t c = 0; c < k.features; ++c) {
                        dgamma_slack[c] += std::abs(shifted.dgamma[c] - exact.dgamma[c]);
                        dbeta_slack[c] += std::abs(shifted.dbeta[c] - exact.dbeta[c]);
                    }
                    for (std::size_t i = 0; i < data.x.size(); ++i)
                        dx_slack[i] += std::abs(shifted.dx[i] - exact.dx[i]);
                }
            }
            // Every column when few, else the first, the last and those around vector boundaries.
            std::vector<std::size_t> columns;
            for (std::size_t c = 0; c < k.features; ++c) {
                const bool at_vector_edge = c < 64 && (c % 16 == 0 || c % 16 == 15);
                if (k.features <= 40 || c < 2 || c + 2 >= k.features || at_vector_edge || c % 97 == 0) {
                    columns.push_back(c);
                }
            }
            // Numerical gradients of the double reference, column by column (a column's statistics
            // depend only on that column).
            std::vector<double> dx_fd(data.x.size()), dgamma_fd(k.features), dbeta_fd(k.features);
            std::vector<double> x_col(rows), dy_col(rows);
            for (const std::size_t c : columns) {
                for (std::size_t r = 0; r < rows; ++r) {
                    x_col[r] = data.x[r * k.features + c];
                    dy_col[r] = data.dy[r * k.features + c];
                }
                const double g = k.scale ? data.gamma[c] : 1.0;
                const double b = k.center ? data.beta[c] : 0.0;
                auto objective = [&](const std::vector<double>& xs, double gv, double bv) {
                    return column_objective_ref(xs, dy_col, gv, bv, keras_epsilon, k.act);
                };
                for (std::size_t r = 0; r < rows; ++r) {
                    const double h = finite_difference_step * std::max(1.0, std::abs(x_col[r]));
                    std::vector<double> plus = x_col, minus = x_col;
                    plus[r] += h;
                    minus[r] -= h;
                    dx_fd[r * k.features + c] = (objective(plus, g, b) - objective(minus, g, b)) / (2 * h);
                }
                const double hg = finite_difference_step * std::max(1.0, std::abs(g));
                dgamma_fd[c] = (objective(x_col, g + hg, b) - objective(x_col, g - hg, b)) / (2 * hg);
                const double hb = finite_difference_step * std::max(1.0, std::abs(b));
                dbeta_fd[c] = (objective(x_col, g, b + hb) - objective(x_col, g, b - hb)) / (2 * hb);
            }
            // The whole-batch kernel, and the chunked passes (bn_chunk_training-inl.h) in chunks of 64 rows.
            const auto check_against_finite_differences = [&](const backward_result& got) {
                std::vector<float> dx_got, dgamma_got, dbeta_got;
                std::vector<double> dx_want, dx_scale, dgamma_want, dgamma_scale, dbeta_want, dbeta_scale;
                std::vector<double> dx_allow, dgamma_allow, dbeta_allow;
                for (const std::size_t c : columns) {
                    for (std::size_t r = 0; r < rows; ++r) {
                        const std::size_t i = r * k.features + c;
                        dx_got.push_back(got.dx[i]);
                        dx_want.push_back(dx_fd[i]);
                        dx_scale.push_back(scales.dx_scale[i]);
                        dx_allow.push_back(dx_slack[i]);
                    }
                    dgamma_allow.push_back(dgamma_slack[c]);
                    dbeta_allow.push_back(dbeta_slack[c]);
                    dgamma_got.push_back(got.dgamma[c]);
                    dgamma_want.push_back(dgamma_fd[c]);
                    dgamma_scale.push_back(scales.dgamma_scale[c]);
                    dbeta_got.push_back(got.dbeta[c]);
                    dbeta_want.push_back(dbeta_fd[c]);
                    dbeta_scale.push_back(scales.dbeta_scale[c]);
                }
                check_close("dx vs finite differences", dx_got, dx_want, dx_scale, gradient_tolerance, dx_allow);
                if (k.scale) {
                    check_close("dgamma vs finite differences", dgamma_got, dgamma_want, dgamma_scale,
                                gradient_tolerance, dgamma_allow);
                }
                if (k.center) {
                    check_close("dbeta vs finite differences", dbeta_got, dbeta_want, dbeta_scale, gradient_tolerance,
                                dbeta_allow);
                }
            };
            for_each_target([&] {
                INFO("whole batch");
                check_against_finite_differences(
                    run_backward(config, data, run_forward_train(config, data, keras_epsilon), true));
            });
            for_each_target([&] {
                INFO("chunks of 64 rows");
                check_against_finite_differences(run_chunked(config, data, 64, keras_epsilon).backward);
            });
        }
    }
}

TEST_CASE("bn backward without dx computes the same parameter gradients", "[bn_kernels]") {
    const std::vector<std::size_t> configs = {
        config_index(37), config_index(784), config_index(37, activation_kind::sigmoid),
        config_index(37, activation_kind::linear, true, false), config_index(37, activation_kind::linear, false, true)};
    for (const std::size_t config : configs) {
        for (const std::size_t rows : batch_sizes) {
            const bn_config& k = bn_configs[config];
            INFO(describe(k, rows));
            const bn_data data = make_data(rows, k.features, static_cast<std::uint32_t>(rows + 17));
            for_each_target([&] {
                const train_result forward = run_forward_train(config, data, keras_epsilon);
                const backward_result with_dx = run_backward(config, data, forward, true);
                const backward_result without_dx = run_backward(config, data, forward, false);
                if (k.scale) CHECK(with_dx.dgamma == without_dx.dgamma);
                if (k.center) CHECK(with_dx.dbeta == without_dx.dbeta);
                // run_backward zero-fills its dx buffer and passes nullptr: the kernel had nowhere to write.
                CHECK(std::all_of(without_dx.dx.begin(), without_dx.dx.end(), [](float v) { return v == 0.0f; }));
            });
        }
    }
}

}  // namespace nnfuse::test
