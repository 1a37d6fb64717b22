// Shared by the tests of the batch-normalization SIMD building blocks (runtime/kernels/batch_norm-inl.h), which run
// on every SIMD target compiled into bn_kernel_dispatch.cpp and compare against the double-precision scalar reference
// in bn_reference.hpp and against central finite differences of that reference.
//
// Tolerances (a float kernel against a double reference; "scale" = the sum of the magnitudes of the
// terms that make up a value, which is what float rounding is relative to):
//   forward:  mean 1e-6 of (|mean| + std); variance and 1/sqrt 1e-5 relative; y 2e-5 of max(1, |y|).
//   backward: 1e-5 of the scale (dbeta: sum|dz|, dgamma: sum|dz*xhat|, dx: per element).
//   finite differences (step 1e-5 relative, in double): the same 1e-5 of the scale, plus what a
//             float-rounded batch mean does to the exact gradients.
// A formula error is an O(1) relative error, far above these.
//
// dispatch::*Config(config, ...) call the kernels of bn_configs[config] on the target dispatch is pinned to
// (for_each_target); the helpers below make random data, run the kernels and compare with tolerances.
#pragma once

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "hwy/aligned_allocator.h"
#include "runtime/kernels/bn_chunked.hpp"
#include "tests/runtime/bn_kernels/bn_configs.hpp"
#include "tests/runtime/bn_kernels/bn_reference.hpp"
#include "tests/support/simd_targets.hpp"

namespace nnfuse::test {

namespace dispatch {  // defined in bn_kernel_dispatch.cpp
void ForwardTrainConfig(std::size_t config, const float* x, std::size_t rows, float epsilon, const float* gamma,
                        const float* beta, float* batch_mean, float* batch_var, float* inv_std, float* y);
void ForwardInferConfig(std::size_t config, const float* x, std::size_t rows, float epsilon, const float* gamma,
                        const float* beta, const float* moving_mean, const float* moving_var, float* y);
void BackwardConfig(std::size_t config, const float* x, const float* y, const float* dy, std::size_t rows,
                    const float* gamma, const float* batch_mean, const float* inv_std, float* dgamma, float* dbeta,
                    float* dx, float* scratch);
void ChunkedTrainConfig(std::size_t config, const float* x, const float* dy, std::size_t rows, std::size_t chunk_rows,
                        float epsilon, const float* gamma, const float* beta, float* records, float* batch_mean,
                        float* batch_var, float* inv_std, float* y, float* dgamma, float* dbeta, float* dx,
                        float* coefficients);
std::int64_t CompiledTarget();
}  // namespace dispatch

inline constexpr double keras_epsilon = 1e-3;
inline constexpr double torch_epsilon = 1e-5;
// One block (up to 128 rows), a few blocks gone through column by column (200: 128 + 72, where the row stride is an
// odd number of cache lines: 16 and 784 features), and more blocks than that (257).
inline constexpr std::size_t batch_sizes[] = {2, 3, 32, 200, 257};
inline constexpr std::size_t feature_counts[] = {1, 7, 16, 37, 784, 1500};  // below/at/above 4, 8, 16 lanes; 2 panels

inline constexpr double mean_tolerance = 1e-6;
inline constexpr double statistic_tolerance = 1e-5;
inline constexpr double output_tolerance = 2e-5;
inline constexpr double gradient_tolerance = 1e-5;
inline constexpr double finite_difference_step = 1e-5;

// Runs body() once per SIMD target compiled here and supported by this CPU, with dispatch pinned to it.
template <class Body>
inline void for_each_target(Body&& body) {
    for_each_simd_target([] { return dispatch::CompiledTarget(); }, body);
}

inline std::size_t config_index(std::size_t features, activation_kind act = activation_kind::linear, bool scale = true,
                                bool center = true) {
    const std::optional<std::size_t> index = find_bn_config({features, act, scale, center});
    REQUIRE(index.has_value());
    return *index;
}

// Random inputs: each feature has its own offset and spread, gamma its sign.
struct bn_data {
    std::size_t rows, features;
    std::vector<float> x, gamma, beta, dy, moving_mean, moving_var;
};

inline bn_data make_data(std::size_t rows, std::size_t features, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    std::uniform_real_distribution<float> offset(-3.0f, 3.0f), spread(0.5f, 2.0f), magnitude(0.5f, 1.5f),
        shift(-1.0f, 1.0f);
    bn_data data{rows, features, std::vector<float>(rows * features), {}, {}, std::vector<float>(rows * features),
                 {},   {}};
    std::vector<float> feature_offset(features), feature_spread(features);
    for (std::size_t c = 0; c < features; ++c) {
        feature_offset[c] = offset(rng);
        feature_spread[c] = spread(rng);
        data.gamma.push_back(magnitude(rng) * (c % 3 == 2 ? -1.0f : 1.0f));
        data.beta.push_back(shift(rng));
        data.moving_mean.push_back(feature_offset[c] + 0.5f * shift(rng));
        data.moving_var.push_back(feature_spread[c] * feature_spread[c] * magnitude(rng));
    }
    for (std::size_t i = 0; i < rows * features; ++i) {
        const std::size_t c = i % features;
        data.x[i] = feature_offset[c] + feature_spread[c] * normal(rng);
        data.dy[i] = normal(rng);
    }
    return data;
}

// Checks |actual - expected| <= tolerance * scale + slack elementwise (slack: an absolute allowance
// for a known input rounding, none if empty); reports the worst element once.
inline void check_close(const char* what, const std::vector<float>& actual, const std::vector<double>& expected,
                        const std::vector<double>& scale, double tolerance, const std::vector<double>& slack = {}) {
    REQUIRE(actual.size() == expected.size());
    double worst_ratio = 0;
    std::size_t worst = 0;
    bool all_finite = true;
    for (std::size_t i = 0; i < actual.size(); ++i) {
        if (!std::isfinite(actual[i])) all_finite = false;
        const double allowed = tolerance * scale[i] + (slack.empty() ? 0.0 : slack[i]);
        const double ratio = std::abs(actual[i] - expected[i]) / allowed;
        if (!(ratio <= worst_ratio)) {
            worst_ratio = ratio;
            worst = i;
        }
    }
    INFO(what << "[" << worst << "] = " << actual[worst] << ", expected " << expected[worst] << " within " << tolerance
              << " * " << scale[worst] << " + " << (slack.empty() ? 0.0 : slack[worst]) << " (" << worst_ratio
              << " of the tolerance)");
    CHECK(all_finite);
    CHECK(worst_ratio <= 1.0);
}

inline std::vector<double> max_one_abs(const std::vector<double>& v) {
    std::vector<double> out(v.size());
    std::transform(v.begin(), v.end(), out.begin(), [](double e) { return std::max(1.0, std::abs(e)); });
    return out;
}

inline std::vector<double> abs_of(const std::vector<double>& v) {
    std::vector<double> out(v.size());
    std::transform(v.begin(), v.end(), out.begin(), [](double e) { return std::abs(e); });
    return out;
}

inline const float* gamma_of(const bn_data& data, const bn_config& config) {
    return config.scale ? data.gamma.data() : nullptr;
}
inline const float* beta_of(const bn_data& data, const bn_config& config) {
    return config.center ? data.beta.data() : nullptr;
}

struct train_result {
    std::vector<float> mean, var, inv_std, y;
};

inline train_result run_forward_train(std::size_t config, const bn_data& data, double epsilon) {
    const bn_config& k = bn_configs[config];
    train_result out{std::vector<float>(data.features), std::vector<float>(data.features),
                     std::vector<float>(data.features), std::vector<float>(data.x.size())};
    dispatch::ForwardTrainConfig(config, data.x.data(), data.rows, static_cast<float>(epsilon), gamma_of(data, k),
                                 beta_of(data, k), out.mean.data(), out.var.data(), out.inv_std.data(), out.y.data());
    return out;
}

struct backward_result {
    std::vector<float> dgamma, dbeta, dx;
};

inline backward_result run_backward(std::size_t config, const bn_data& data, const train_result& forward,
                                    bool with_dx) {
    const bn_config& k = bn_configs[config];
    backward_result out{std::vector<float>(data.features), std::vector<float>(data.features),
                        std::vector<float>(data.x.size())};
    std::vector<float> scratch(2 * data.features);
    dispatch::BackwardConfig(config, data.x.data(), forward.y.data(), data.dy.data(), data.rows, gamma_of(data, k),
                             forward.mean.data(), forward.inv_std.data(), k.scale ? out.dgamma.data() : nullptr,
                             k.center ? out.dbeta.data() : nullptr, with_dx ? out.dx.data() : nullptr, scratch.data());
    return out;
}

// A training step of the layer cut into chunks of chunk_rows (bn_chunk_training-inl.h), forward and backward.
struct chunked_result {
    train_result forward;
    backward_result backward;
};

inline chunked_result run_chunked(std::size_t config, const bn_data& data, std::size_t chunk_rows, double epsilon,
                                  bool with_dx = true) {
    const bn_config& k = bn_configs[config];
    const std::size_t chunks = (data.rows + chunk_rows - 1) / chunk_rows;
    // Aligned as the generated Net's arena is; NaN where nothing should be read before it is written.
    const std::size_t record_floats = 2 * chunks * nnfuse::kernels::bn_chunk_moments_floats(data.features);
    auto records = hwy::AllocateAligned<float>(record_floats);
    std::fill_n(records.get(), record_floats, std::nanf(""));
    chunked_result out{
        {std::vector<float>(data.features), std::vector<float>(data.features), std::vector<float>(data.features),
         std::vector<float>(data.x.size())},
        {std::vector<float>(data.features), std::vector<float>(data.features), std::vector<float>(data.x.size())}};
    std::vector<float> coefficients(2 * data.features, std::nanf(""));
    dispatch::ChunkedTrainConfig(config, data.x.data(), data.dy.data(), data.rows, chunk_rows,
                                 static_cast<float>(epsilon), gamma_of(data, k), beta_of(data, k), records.get(),
                                 out.forward.mean.data(), out.forward.var.data(), out.forward.inv_std.data(),
                                 out.forward.y.data(), k.scale ? out.backward.dgamma.data() : nullptr,
                                 k.center ? out.backward.dbeta.data() : nullptr,
                                 with_dx ? out.backward.dx.data() : nullptr, coefficients.data());
    return out;
}

// The forward outputs the backward kernel consumes, from the double reference rounded to float: the
// backward is then checked against its contract evaluated on exactly its inputs.
inline train_result forward_from_reference(std::size_t config, const bn_data& data, double epsilon) {
    const bn_config& k = bn_configs[config];
    const bn_train_ref ref =
        forward_train_ref(data.x, data.rows, data.features, epsilon, gamma_of(data, k), beta_of(data, k), k.act);
    auto to_float = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
    return {to_float(ref.mean), to_float(ref.var), to_float(ref.inv_std), to_float(ref.y)};
}

inline std::vector<double> widen(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

inline bn_backward_ref backward_expected(std::size_t config, const bn_data& data, const train_result& inputs) {
    const bn_config& k = bn_configs[config];
    return backward_given_statistics_ref(data.x, data.dy, data.rows, data.features, widen(inputs.mean),
                                         widen(inputs.inv_std), gamma_of(data, k), beta_of(data, k), k.act);
}

inline void check_backward(std::size_t config, const bn_data& data, const train_result& inputs,
                           const bn_backward_ref& ref) {
    const bn_config& k = bn_configs[config];
    const backward_result got = run_backward(config, data, inputs, true);
    if (k.scale) check_close("dgamma", got.dgamma, ref.dgamma, ref.dgamma_scale, gradient_tolerance);
    if (k.center) check_close("dbeta", got.dbeta, ref.dbeta, ref.dbeta_scale, gradient_tolerance);
    check_close("dx", got.dx, ref.dx, ref.dx_scale, gradient_tolerance);
}

// `got`: a training forward's outputs (BnForwardTrain's, or the chunked passes').
inline void check_forward_train(std::size_t config, const bn_data& data, double epsilon, const train_result& got) {
    const bn_config& k = bn_configs[config];
    const bn_train_ref ref =
        forward_train_ref(data.x, data.rows, data.features, epsilon, gamma_of(data, k), beta_of(data, k), k.act);
    std::vector<double> mean_scale(data.features);
    for (std::size_t c = 0; c < data.features; ++c) mean_scale[c] = std::abs(ref.mean[c]) + std::sqrt(ref.var[c]);
    check_close("batch_mean", got.mean, ref.mean, mean_scale, mean_tolerance);
    check_close("batch_var", got.var, ref.var, abs_of(ref.var), statistic_tolerance);
    check_close("inv_std", got.inv_std, ref.inv_std, ref.inv_std, statistic_tolerance);
    check_close("y", got.y, ref.y, max_one_abs(ref.y), output_tolerance);
}

inline void check_forward_train(std::size_t config, const bn_data& data, double epsilon) {
    check_forward_train(config, data, epsilon, run_forward_train(config, data, epsilon));
}

inline std::string describe(const bn_config& k, std::size_t rows) {
    std::ostringstream s;
    s << "C=" << k.features << " rows=" << rows << " act=" << keras_name(k.act) << " scale=" << k.scale
      << " center=" << k.center;
    return s.str();
}

}  // namespace nnfuse::test
