// Tests of the batch-normalization SIMD building blocks (runtime/kernels/batch_norm-inl.h) on every
// SIMD target compiled into this translation unit, against the double-precision scalar reference in
// bn_reference.hpp and against central finite differences of that reference.
//
// Tolerances (a float kernel against a double reference; "scale" = the sum of the magnitudes of the
// terms that make up a value, which is what float rounding is relative to):
//   forward:  mean 1e-6 of (|mean| + std); variance and 1/sqrt 1e-5 relative; y 2e-5 of max(1, |y|).
//   backward: 1e-5 of the scale (dbeta: sum|dz|, dgamma: sum|dz*xhat|, dx: per element).
//   finite differences (step 1e-5 relative, in double): the same 1e-5 of the scale, plus what a
//             float-rounded batch mean does to the exact gradients.
// A formula error is an O(1) relative error, far above these.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/bn_kernels/test_bn_kernels.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <array>
#include <cstddef>
#include <utility>

#include "hwy/highway.h"
#include "runtime/kernels/batch_norm-inl.h"
#include "tests/runtime/bn_kernels/bn_configs.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

namespace kernels = nnfuse::kernels::HWY_NAMESPACE;

template <std::size_t I>
void ForwardTrainAt(const float* x, std::size_t rows, float epsilon, const float* gamma, const float* beta,
                    float* batch_mean, float* batch_var, float* inv_std, float* y) {
    constexpr bn_config k = bn_configs[I];
    kernels::BnForwardTrain<k.features, k.act, k.scale, k.center>(x, rows, epsilon, gamma, beta, batch_mean, batch_var,
                                                                  inv_std, y);
}

template <std::size_t I>
void ForwardInferAt(const float* x, std::size_t rows, float epsilon, const float* gamma, const float* beta,
                    const float* moving_mean, const float* moving_var, float* y) {
    constexpr bn_config k = bn_configs[I];
    kernels::BnForwardInfer<k.features, k.act, k.scale, k.center>(x, rows, epsilon, gamma, beta, moving_mean,
                                                                  moving_var, y);
}

template <std::size_t I>
void BackwardAt(const float* x, const float* y, const float* dy, std::size_t rows, const float* gamma,
                const float* batch_mean, const float* inv_std, float* dgamma, float* dbeta, float* dx, float* scratch) {
    constexpr bn_config k = bn_configs[I];
    kernels::BnBackward<k.features, k.act, k.scale, k.center>(x, y, dy, rows, gamma, batch_mean, inv_std, dgamma, dbeta,
                                                              dx, scratch);
}

template <std::size_t... I>
constexpr auto ForwardTrainTable(std::index_sequence<I...>) {
    return std::array{&ForwardTrainAt<I>...};
}
template <std::size_t... I>
constexpr auto ForwardInferTable(std::index_sequence<I...>) {
    return std::array{&ForwardInferAt<I>...};
}
template <std::size_t... I>
constexpr auto BackwardTable(std::index_sequence<I...>) {
    return std::array{&BackwardAt<I>...};
}

// One exported entry point per kernel; `config` indexes bn_configs.
void ForwardTrainConfig(std::size_t config, const float* x, std::size_t rows, float epsilon, const float* gamma,
                        const float* beta, float* batch_mean, float* batch_var, float* inv_std, float* y) {
    static constexpr auto table = ForwardTrainTable(std::make_index_sequence<bn_config_count>());
    table[config](x, rows, epsilon, gamma, beta, batch_mean, batch_var, inv_std, y);
}

void ForwardInferConfig(std::size_t config, const float* x, std::size_t rows, float epsilon, const float* gamma,
                        const float* beta, const float* moving_mean, const float* moving_var, float* y) {
    static constexpr auto table = ForwardInferTable(std::make_index_sequence<bn_config_count>());
    table[config](x, rows, epsilon, gamma, beta, moving_mean, moving_var, y);
}

void BackwardConfig(std::size_t config, const float* x, const float* y, const float* dy, std::size_t rows,
                    const float* gamma, const float* batch_mean, const float* inv_std, float* dgamma, float* dbeta,
                    float* dx, float* scratch) {
    static constexpr auto table = BackwardTable(std::make_index_sequence<bn_config_count>());
    table[config](x, y, dy, rows, gamma, batch_mean, inv_std, dgamma, dbeta, dx, scratch);
}

// Which target a dispatched call reached (Highway 1.0.3 has no hwy::DispatchedTarget).
std::int64_t CompiledTarget() { return HWY_TARGET; }

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "hwy/aligned_allocator.h"
#include "runtime/kernels/streaming_output.hpp"
#include "tests/runtime/bn_kernels/bn_reference.hpp"
#include "tests/support/simd_targets.hpp"

namespace nnfuse::test {

HWY_EXPORT(ForwardTrainConfig);
HWY_EXPORT(ForwardInferConfig);
HWY_EXPORT(BackwardConfig);
HWY_EXPORT(CompiledTarget);

namespace {

constexpr double keras_epsilon = 1e-3;
constexpr double torch_epsilon = 1e-5;
// One block (up to 128 rows), a few blocks gone through column by column (200: 128 + 72, where the row stride is an
// odd number of cache lines: 16 and 784 features), and more blocks than that (257).
constexpr std::size_t batch_sizes[] = {2, 3, 32, 200, 257};
constexpr std::size_t feature_counts[] = {1, 7, 16, 37, 784, 1500};  // below/at/above 4, 8, 16 lanes; 2 panels

constexpr double mean_tolerance = 1e-6;
constexpr double statistic_tolerance = 1e-5;
constexpr double output_tolerance = 2e-5;
constexpr double gradient_tolerance = 1e-5;
constexpr double finite_difference_step = 1e-5;

// Runs body() once per SIMD target compiled here and supported by this CPU, with dispatch pinned to it.
template <class Body>
void for_each_target(Body&& body) {
    for_each_simd_target([] { return HWY_DYNAMIC_DISPATCH(CompiledTarget)(); }, body);
}

std::size_t config_index(std::size_t features, activation_kind act = activation_kind::linear, bool scale = true,
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

bn_data make_data(std::size_t rows, std::size_t features, std::uint32_t seed) {
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
void check_close(const char* what, const std::vector<float>& actual, const std::vector<double>& expected,
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

std::vector<double> max_one_abs(const std::vector<double>& v) {
    std::vector<double> out(v.size());
    std::transform(v.begin(), v.end(), out.begin(), [](double e) { return std::max(1.0, std::abs(e)); });
    return out;
}

std::vector<double> abs_of(const std::vector<double>& v) {
    std::vector<double> out(v.size());
    std::transform(v.begin(), v.end(), out.begin(), [](double e) { return std::abs(e); });
    return out;
}

const float* gamma_of(const bn_data& data, const bn_config& config) {
    return config.scale ? data.gamma.data() : nullptr;
}
const float* beta_of(const bn_data& data, const bn_config& config) {
    return config.center ? data.beta.data() : nullptr;
}

struct train_result {
    std::vector<float> mean, var, inv_std, y;
};

train_result run_forward_train(std::size_t config, const bn_data& data, double epsilon) {
    const bn_config& k = bn_configs[config];
    train_result out{std::vector<float>(data.features), std::vector<float>(data.features),
                     std::vector<float>(data.features), std::vector<float>(data.x.size())};
    HWY_DYNAMIC_DISPATCH(ForwardTrainConfig)
    (config, data.x.data(), data.rows, static_cast<float>(epsilon), gamma_of(data, k), beta_of(data, k),
     out.mean.data(), out.var.data(), out.inv_std.data(), out.y.data());
    return out;
}

struct backward_result {
    std::vector<float> dgamma, dbeta, dx;
};

backward_result run_backward(std::size_t config, const bn_data& data, const train_result& forward, bool with_dx) {
    const bn_config& k = bn_configs[config];
    backward_result out{std::vector<float>(data.features), std::vector<float>(data.features),
                        std::vector<float>(data.x.size())};
    std::vector<float> scratch(2 * data.features);
    HWY_DYNAMIC_DISPATCH(BackwardConfig)
    (config, data.x.data(), forward.y.data(), data.dy.data(), data.rows, gamma_of(data, k), forward.mean.data(),
     forward.inv_std.data(), k.scale ? out.dgamma.data() : nullptr, k.center ? out.dbeta.data() : nullptr,
     with_dx ? out.dx.data() : nullptr, scratch.data());
    return out;
}

// The forward outputs the backward kernel consumes, from the double reference rounded to float: the
// backward is then checked against its contract evaluated on exactly its inputs.
train_result forward_from_reference(std::size_t config, const bn_data& data, double epsilon) {
    const bn_config& k = bn_configs[config];
    const bn_train_ref ref =
        forward_train_ref(data.x, data.rows, data.features, epsilon, gamma_of(data, k), beta_of(data, k), k.act);
    auto to_float = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
    return {to_float(ref.mean), to_float(ref.var), to_float(ref.inv_std), to_float(ref.y)};
}

std::vector<double> widen(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

bn_backward_ref backward_expected(std::size_t config, const bn_data& data, const train_result& inputs) {
    const bn_config& k = bn_configs[config];
    return backward_given_statistics_ref(data.x, data.dy, data.rows, data.features, widen(inputs.mean),
                                         widen(inputs.inv_std), gamma_of(data, k), beta_of(data, k), k.act);
}

void check_backward(std::size_t config, const bn_data& data, const train_result& inputs, const bn_backward_ref& ref) {
    const bn_config& k = bn_configs[config];
    const backward_result got = run_backward(config, data, inputs, true);
    if (k.scale) check_close("dgamma", got.dgamma, ref.dgamma, ref.dgamma_scale, gradient_tolerance);
    if (k.center) check_close("dbeta", got.dbeta, ref.dbeta, ref.dbeta_scale, gradient_tolerance);
    check_close("dx", got.dx, ref.dx, ref.dx_scale, gradient_tolerance);
}

void check_forward_train(std::size_t config, const bn_data& data, double epsilon) {
    const bn_config& k = bn_configs[config];
    const bn_train_ref ref =
        forward_train_ref(data.x, data.rows, data.features, epsilon, gamma_of(data, k), beta_of(data, k), k.act);
    std::vector<double> mean_scale(data.features);
    for (std::size_t c = 0; c < data.features; ++c) mean_scale[c] = std::abs(ref.mean[c]) + std::sqrt(ref.var[c]);
    const train_result got = run_forward_train(config, data, epsilon);
    check_close("batch_mean", got.mean, ref.mean, mean_scale, mean_tolerance);
    check_close("batch_var", got.var, ref.var, abs_of(ref.var), statistic_tolerance);
    check_close("inv_std", got.inv_std, ref.inv_std, ref.inv_std, statistic_tolerance);
    check_close("y", got.y, ref.y, max_one_abs(ref.y), output_tolerance);
}

std::string describe(const bn_config& k, std::size_t rows) {
    std::ostringstream s;
    s << "C=" << k.features << " rows=" << rows << " act=" << keras_name(k.act) << " scale=" << k.scale
      << " center=" << k.center;
    return s.str();
}

}  // namespace

TEST_CASE("bn kernels: SIMD targets under test", "[bn_kernels]") {
    hwy::SetSupportedTargetsForTest(0);
    std::cout << "bn_kernels tests run on:";
    for (const std::int64_t target : hwy::SupportedAndGeneratedTargets()) std::cout << ' ' << hwy::TargetName(target);
    std::cout << '\n';
    CHECK(!hwy::SupportedAndGeneratedTargets().empty());
    // Every feature count the design asks for is instantiated (with a linear activation, gamma and beta).
    for (const std::size_t features : feature_counts) {
        CHECK(find_bn_config({features, activation_kind::linear, true, true}).has_value());
    }
}

TEST_CASE("bn forward train matches the double reference", "[bn_kernels]") {
    for (std::size_t config = 0; config < bn_config_count; ++config) {
        for (const std::size_t rows : batch_sizes) {
            const bn_config& k = bn_configs[config];
            INFO(describe(k, rows));
            const bn_data data = make_data(rows, k.features, static_cast<std::uint32_t>(rows * 1000 + config));
            for_each_target([&] { check_forward_train(config, data, keras_epsilon); });
        }
    }
}

TEST_CASE("bn forward train with the torch epsilon and large batches", "[bn_kernels]") {
    for (const std::size_t features : {std::size_t{16}, std::size_t{37}}) {
        const std::size_t rows = 65536 + 37;  // many blocks, the last one short
        INFO("C=" << features << " rows=" << rows);
        const bn_data data = make_data(rows, features, 7);
        for_each_target([&] { check_forward_train(config_index(features), data, torch_epsilon); });
    }
}

TEST_CASE("bn forward infer matches the double reference, batch of 1 included", "[bn_kernels]") {
    for (std::size_t config = 0; config < bn_config_count; ++config) {
        for (const std::size_t rows :
             {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{32}, std::size_t{257}}) {
            const bn_config& k = bn_configs[config];
            INFO(describe(k, rows));
            const bn_data data = make_data(rows, k.features, static_cast<std::uint32_t>(rows * 1000 + config + 1));
            const std::vector<double> ref =
                forward_infer_ref(data.x, rows, k.features, keras_epsilon, gamma_of(data, k), beta_of(data, k),
                                  data.moving_mean.data(), data.moving_var.data(), k.act);
            for_each_target([&] {
                std::vector<float> y(data.x.size());
                HWY_DYNAMIC_DISPATCH(ForwardInferConfig)
                (config, data.x.data(), rows, static_cast<float>(keras_epsilon), gamma_of(data, k), beta_of(data, k),
                 data.moving_mean.data(), data.moving_var.data(), y.data());
                check_close("y", y, ref, max_one_abs(ref), output_tolerance);
            });
        }
    }
}

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

TEST_CASE("bn kernels whose output is large enough to stream match the double reference", "[bn_kernels]") {
    // An output of bn_streaming_output_bytes or more goes out with non-temporal stores when every row's vectors are
    // aligned (C = 784 is a whole number of vectors on every target): at an aligned address it streams, one float
    // further on it does not (except on the one-lane scalar target, where every float is a whole vector). Both must
    // write every value.
    const std::size_t config = config_index(784, activation_kind::elu);
    const bn_config& k = bn_configs[config];
    const std::size_t rows = nnfuse::kernels::bn_streaming_output_bytes / (k.features * sizeof(float)) + 37;
    INFO(describe(k, rows));
    const bn_data data = make_data(rows, k.features, 13);
    const bn_train_ref forward_ref =
        forward_train_ref(data.x, rows, k.features, keras_epsilon, gamma_of(data, k), beta_of(data, k), k.act);
    const std::vector<double> infer_ref =
        forward_infer_ref(data.x, rows, k.features, keras_epsilon, gamma_of(data, k), beta_of(data, k),
                          data.moving_mean.data(), data.moving_var.data(), k.act);
    const train_result backward_inputs = forward_from_reference(config, data, keras_epsilon);
    const bn_backward_ref backward_ref = backward_expected(config, data, backward_inputs);
    const auto output = hwy::AllocateAligned<float>(data.x.size() + 1);
    REQUIRE(output);
    for (const std::size_t offset : {std::size_t{0}, std::size_t{1}}) {
        INFO("output " << offset << " floats past an aligned address");
        float* const out = output.get() + offset;
        const auto written = [&] { return std::vector<float>(out, out + data.x.size()); };
        for_each_target([&] {
            std::vector<float> mean(k.features), var(k.features), inv_std(k.features);
            std::fill_n(out, data.x.size(), std::numeric_limits<float>::quiet_NaN());
            HWY_DYNAMIC_DISPATCH(ForwardTrainConfig)
            (config, data.x.data(), rows, static_cast<float>(keras_epsilon), gamma_of(data, k), beta_of(data, k),
             mean.data(), var.data(), inv_std.data(), out);
            check_close("inv_std", inv_std, forward_ref.inv_std, forward_ref.inv_std, statistic_tolerance);
            check_close("y", written(), forward_ref.y, max_one_abs(forward_ref.y), output_tolerance);

            std::fill_n(out, data.x.size(), std::numeric_limits<float>::quiet_NaN());
            HWY_DYNAMIC_DISPATCH(ForwardInferConfig)
            (config, data.x.data(), rows, static_cast<float>(keras_epsilon), gamma_of(data, k), beta_of(data, k),
             data.moving_mean.data(), data.moving_var.data(), out);
            check_close("inference y", written(), infer_ref, max_one_abs(infer_ref), output_tolerance);

            std::vector<float> dgamma(k.features), dbeta(k.features), scratch(2 * k.features);
            std::fill_n(out, data.x.size(), std::numeric_limits<float>::quiet_NaN());
            HWY_DYNAMIC_DISPATCH(BackwardConfig)
            (config, data.x.data(), backward_inputs.y.data(), data.dy.data(), rows, gamma_of(data, k),
             backward_inputs.mean.data(), backward_inputs.inv_std.data(), dgamma.data(), dbeta.data(), out,
             scratch.data());
            check_close("dgamma", dgamma, backward_ref.dgamma, backward_ref.dgamma_scale, gradient_tolerance);
            check_close("dx", written(), backward_ref.dx, backward_ref.dx_scale, gradient_tolerance);
        });
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
            for_each_target([&] {
                const train_result forward = run_forward_train(config, data, keras_epsilon);
                const backward_result got = run_backward(config, data, forward, true);
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
            });
        }
    }
}

TEST_CASE("bn statistics are stable for a large mean and a small spread", "[bn_kernels]") {
    // Mean 1e4 (+ c), standard deviation 1: E[x^2] - E[x]^2 in float loses the variance entirely.
    constexpr double large_mean = 1e4;
    constexpr double variance_tolerance = 1e-5;  // the requirement is 1e-3; the design delivers more
    for (const std::size_t features : {std::size_t{16}, std::size_t{37}}) {
        for (const std::size_t rows : {std::size_t{32}, std::size_t{257}, std::size_t{65536}}) {
            INFO("C=" << features << " rows=" << rows);
            std::mt19937 rng(static_cast<std::uint32_t>(rows + features));
            std::normal_distribution<double> normal;
            bn_data data{rows, features, std::vector<float>(rows * features), {}, {}, {}, {}, {}};
            data.gamma.assign(features, 1.0f);
            data.beta.assign(features, 0.0f);
            for (std::size_t i = 0; i < data.x.size(); ++i) {
                data.x[i] = static_cast<float>(large_mean + static_cast<double>(i % features) + normal(rng));
            }
            const bn_train_ref ref = forward_train_ref(data.x, rows, features, keras_epsilon, data.gamma.data(),
                                                       data.beta.data(), activation_kind::linear);
            // The test has teeth: the one-pass float formula misses by far more than the requirement.
            {
                const std::size_t c = features - 1;
                float sum = 0, sum_sq = 0;
                for (std::size_t r = 0; r < rows; ++r) {
                    sum += data.x[r * features + c];
                    sum_sq += data.x[r * features + c] * data.x[r * features + c];
                }
                const float n = static_cast<float>(rows);
                const float one_pass = sum_sq / n - (sum / n) * (sum / n);
                CHECK(std::abs(one_pass - ref.var[c]) > 1e-3 * ref.var[c]);
            }
            // y's error is dominated by rounding the mean to float: ulp(1e4) / std.
            const double y_tolerance = 4 * large_mean * std::numeric_limits<float>::epsilon();
            for_each_target([&] {
                const train_result got = run_forward_train(config_index(features), data, keras_epsilon);
                check_close("batch_var", got.var, ref.var, ref.var, variance_tolerance);
                check_close("batch_mean", got.mean, ref.mean, std::vector<double>(features, 1.0), 1e-3);
                check_close("y", got.y, ref.y, std::vector<double>(ref.y.size(), 1.0), y_tolerance);
            });
        }
    }
}

TEST_CASE("bn constant features have variance 0 and finite outputs", "[bn_kernels]") {
    const float constants[] = {1e4f, 3.7f, -0.1f, 0.0f, 1e-3f, 123456.7f, -2.5e6f};
    constexpr std::size_t features = 7;
    const std::size_t config = config_index(features);
    for (const std::size_t rows : {std::size_t{2}, std::size_t{3}, std::size_t{257}, std::size_t{1000}}) {
        INFO("rows=" << rows);
        bn_data data = make_data(rows, features, 5);
        for (std::size_t i = 0; i < data.x.size(); ++i) data.x[i] = constants[i % features];
        for_each_target([&] {
            const train_result got = run_forward_train(config, data, keras_epsilon);
            const backward_result grads = run_backward(config, data, got, true);
            for (std::size_t c = 0; c < features; ++c) {
                INFO("feature " << c << " = " << constants[c]);
                CHECK(got.mean[c] == constants[c]);
                CHECK(got.var[c] == 0.0f);
                CHECK(got.inv_std[c] == Approx(1.0 / std::sqrt(keras_epsilon)).epsilon(1e-6));
                for (std::size_t r = 0; r < rows; ++r) {
                    CHECK(got.y[r * features + c] == data.beta[c]);  // xhat is exactly 0
                    CHECK(std::isfinite(grads.dx[r * features + c]));
                }
                CHECK(grads.dgamma[c] == 0.0f);
                CHECK(std::isfinite(grads.dbeta[c]));
            }
        });
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

#endif  // HWY_ONCE
