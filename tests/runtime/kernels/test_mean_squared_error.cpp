// MeanSquaredError on every compiled SIMD target: loss, gradient and absolute error against a double-precision
// reference, evaluation without a gradient, and the gradient by central finite differences of the mean loss.
//
// Reference tolerances, with u float's unit roundoff and e_j = y_j - t_j in double:
//   loss of a row:  (Outputs + 4) u sum_j e_j^2 / Outputs     the float subtraction (2 u relative on e^2), the
//                                                             product (u) and up to Outputs float additions
//   mae of a row:   (Outputs + 2) u sum_j |e_j| / Outputs     the subtraction and the additions
//   gradient:       3 u |2 e_j grad_scale / Outputs|          the subtraction, the factor's rounding, the product
// plus 1e-15 of the batch totals for their double accumulation.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/kernels/test_mean_squared_error.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/mean_squared_error-inl.h"
#include "tests/runtime/dense_kernels/dense_test_support.hpp"

// Declared once, though foreach_target includes this file once per target.
#ifndef NNFUSE_TESTS_MSE_TABLE_
#define NNFUSE_TESTS_MSE_TABLE_
namespace nnfuse::test {

using MeanSquaredErrorFn = void (*)(const float* predictions, const float* targets, std::size_t rows, float grad_scale,
                                    float* dpredictions, double* loss_sum, double* abs_error_sum);

struct MseEntry {
    std::size_t outputs;
    MeanSquaredErrorFn run;
};

struct MseTable {
    std::int64_t target;
    const MseEntry* entries;
    std::size_t count;
};

}  // namespace nnfuse::test
#endif  // NNFUSE_TESTS_MSE_TABLE_

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

template <std::size_t Outputs>
constexpr MseEntry Mse() {
    return {Outputs, &kernels::HWY_NAMESPACE::MeanSquaredError<Outputs>};
}

MseTable MeanSquaredErrorKernels() {
    static const MseEntry entries[] = {Mse<1>(), Mse<3>(), Mse<8>(), Mse<16>(), Mse<17>(), Mse<37>(), Mse<784>()};
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse::test {
namespace {

HWY_EXPORT(MeanSquaredErrorKernels);

struct MseProblem {
    std::size_t outputs, rows;
    std::vector<float> predictions, targets;
};

MseProblem MakeProblem(std::size_t outputs, std::size_t rows, std::uint32_t seed) {
    std::mt19937 random(seed);
    MseProblem p{outputs, rows, RandomUniform(random, outputs * rows, 3.0), RandomUniform(random, outputs * rows, 3.0)};
    if (rows > 1) {  // a row predicted exactly: zero loss, zero gradient
        std::copy_n(p.targets.begin() + outputs, outputs, p.predictions.begin() + outputs);
    }
    return p;
}

struct MseReference {
    double loss = 0, loss_tolerance = 0, mae = 0, mae_tolerance = 0;
    std::vector<double> gradient, gradient_tolerance;
};

MseReference ComputeReference(const MseProblem& p, float grad_scale) {
    const double u = kUnitRoundoff, n = static_cast<double>(p.outputs);
    MseReference ref;
    ref.gradient.resize(p.predictions.size());
    ref.gradient_tolerance.resize(p.predictions.size());
    for (std::size_t r = 0; r < p.rows; ++r) {
        double squares = 0, absolutes = 0;
        for (std::size_t j = 0; j < p.outputs; ++j) {
            const std::size_t i = r * p.outputs + j;
            const double e = static_cast<double>(p.predictions[i]) - p.targets[i];
            squares += e * e;
            absolutes += std::abs(e);
            ref.gradient[i] = 2 * e * grad_scale / n;
            ref.gradient_tolerance[i] = 3 * u * std::abs(ref.gradient[i]) + kSmallestNormal;
        }
        ref.loss += squares / n;
        ref.loss_tolerance += (n + 4) * u * squares / n;
        ref.mae += absolutes / n;
        ref.mae_tolerance += (n + 2) * u * absolutes / n;
    }
    ref.loss_tolerance += 1e-15 * ref.loss;
    ref.mae_tolerance += 1e-15 * ref.mae;
    return ref;
}

// What the kernel adds to nonzero running totals (checking that it adds rather than overwrites), and its gradient.
struct MseResult {
    double loss, mae;
    std::vector<float> gradient;
};

constexpr double kInitialLoss = 0.25, kInitialAbsError = 1.5;

MseResult RunMse(MeanSquaredErrorFn run, const MseProblem& p, float grad_scale, bool with_gradient) {
    const auto predictions = GuardedArray<float>::CopyOf(p.predictions);
    const auto targets = GuardedArray<float>::CopyOf(p.targets);
    GuardedArray<float> gradient(p.predictions.size(), kUnwritten);
    double loss_sum = kInitialLoss, abs_error_sum = kInitialAbsError;
    run(predictions.data(), targets.data(), p.rows, grad_scale, with_gradient ? gradient.data() : nullptr, &loss_sum,
        &abs_error_sum);
    return {loss_sum - kInitialLoss, abs_error_sum - kInitialAbsError, gradient.ToVector()};
}

template <class Body>
void ForEachTargetWithKernels(const Body& body) {
    ForEachTarget([&](std::int64_t target) {
        const MseTable table = HWY_DYNAMIC_DISPATCH(MeanSquaredErrorKernels)();
        REQUIRE(table.target == target);
        body(table);
    });
}

TEST_CASE("MeanSquaredError matches a double-precision reference on every target", "[mse]") {
    const MseTable sizes = HWY_DYNAMIC_DISPATCH(MeanSquaredErrorKernels)();
    for (std::size_t c = 0; c < sizes.count; ++c) {
        const std::size_t outputs = sizes.entries[c].outputs;
        for (const std::size_t rows : {1, 2, 3, 32, 257}) {
            INFO("Outputs " << outputs << ", rows " << rows);
            const MseProblem problem = MakeProblem(outputs, rows, static_cast<std::uint32_t>(100 * c + rows));
            const float grad_scale = 1.0f / static_cast<float>(rows);
            const MseReference ref = ComputeReference(problem, grad_scale);
            ForEachTargetWithKernels([&](const MseTable& table) {
                for (const bool with_gradient : {true, false}) {
                    INFO((with_gradient ? "with dpredictions" : "dpredictions == nullptr"));
                    const MseResult result = RunMse(table.entries[c].run, problem, grad_scale, with_gradient);
                    INFO("loss " << result.loss << ", expected " << ref.loss << " +- " << ref.loss_tolerance);
                    CHECK(std::abs(result.loss - ref.loss) <= ref.loss_tolerance);
                    INFO("mae " << result.mae << ", expected " << ref.mae << " +- " << ref.mae_tolerance);
                    CHECK(std::abs(result.mae - ref.mae) <= ref.mae_tolerance);
                    if (with_gradient) {
                        CheckWithin(
                            "dpredictions", result.gradient.size(), [&](std::size_t i) { return result.gradient[i]; },
                            [&](std::size_t i) { return ref.gradient[i]; },
                            [&](std::size_t i) { return ref.gradient_tolerance[i]; });
                    } else {
                        CHECK(std::all_of(result.gradient.begin(), result.gradient.end(),
                                          [](float v) { return std::isnan(v); }));
                    }
                }
            });
        }
    }
}

TEST_CASE("MeanSquaredError's gradient agrees with finite differences of the mean loss on every target", "[mse]") {
    // The mean loss as the kernel computes it; its gradient is dpredictions with grad_scale = 1 / rows. The loss
    // is quadratic, so the central difference has no truncation error: what remains is the loss's float rounding
    // (~Outputs u per row) divided by 2 h. Tolerance 1e-4 + 1e-3 |fd|.
    constexpr double kStep = 1.0 / 64;
    const MseTable sizes = HWY_DYNAMIC_DISPATCH(MeanSquaredErrorKernels)();
    for (std::size_t c = 0; c < sizes.count - 1; ++c) {  // all but 784 outputs
        const std::size_t outputs = sizes.entries[c].outputs;
        constexpr std::size_t kRows = 3;
        INFO("Outputs " << outputs);
        const MseProblem problem = MakeProblem(outputs, kRows, static_cast<std::uint32_t>(900 + c));
        ForEachTargetWithKernels([&](const MseTable& table) {
            const auto run = table.entries[c].run;
            const auto mean_loss = [&](const MseProblem& perturbed) {
                return RunMse(run, perturbed, 1.0f, false).loss / kRows;
            };
            const std::vector<float> gradient = RunMse(run, problem, 1.0f / kRows, true).gradient;
            std::vector<double> fd(problem.predictions.size());
            for (std::size_t i = 0; i < fd.size(); ++i) {
                MseProblem above = problem, below = problem;
                above.predictions[i] = static_cast<float>(problem.predictions[i] + kStep);
                below.predictions[i] = static_cast<float>(problem.predictions[i] - kStep);
                fd[i] = (mean_loss(above) - mean_loss(below)) /
                        (static_cast<double>(above.predictions[i]) - static_cast<double>(below.predictions[i]));
            }
            CheckWithin(
                "dpredictions", fd.size(), [&](std::size_t i) { return gradient[i]; },
                [&](std::size_t i) { return fd[i]; }, [&](std::size_t i) { return 1e-4 + 1e-3 * std::abs(fd[i]); });
        });
    }
}

TEST_CASE("MeanSquaredError of a perfect prediction is zero, with a zero gradient", "[mse]") {
    ForEachTargetWithKernels([&](const MseTable& table) {
        const MseEntry& entry = table.entries[4];  // 17 outputs
        MseProblem problem = MakeProblem(entry.outputs, 4, 3);
        problem.predictions = problem.targets;
        const MseResult result = RunMse(entry.run, problem, 0.25f, true);
        CHECK(result.loss == 0.0);
        CHECK(result.mae == 0.0);
        CHECK(std::all_of(result.gradient.begin(), result.gradient.end(), [](float v) { return v == 0.0f; }));
    });
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
