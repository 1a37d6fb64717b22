// MeanAbsoluteError and Huber on every compiled SIMD target: loss, gradient and mean absolute error against
// double-precision references, evaluation without a gradient, errors of exactly 0 (MAE's subgradient 0, as
// TensorFlow's sign(0)) and exactly delta (Huber's seam), and the gradients by central finite differences of the
// double-precision mean losses.
//
// References (double, from the definitions), e = y - t: MAE |e|, gradient sign(e) grad_scale / Outputs (0 at 0);
// Huber e^2 / 2 if |e| <= delta else delta |e| - delta^2 / 2, gradient clamp(e, -delta, delta) grad_scale / Outputs.
// Tolerances, with u float's unit roundoff (e is one float subtraction: relative error u):
//   a value's loss:   MAE u |e|; Huber 4u (h(e) + delta |e|)   (e^2 and its product; delta |e|, delta^2 / 2 rounded,
//                                                             the difference)
//   the batch's sums: theirs + 40u times the sum of the values  (float sums of up to 16 vectors, then the lanes)
//   a gradient:       MAE u |factor| (the factor's rounding: the sign is exact); Huber 3u |clamp(e)| |factor|

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/kernels/test_regression_losses.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/huber-inl.h"
#include "runtime/kernels/mean_absolute_error-inl.h"
#include "tests/runtime/kernels/loss_test_support.hpp"

// Declared once, though foreach_target includes this file once per target.
#ifndef NNFUSE_TESTS_REGRESSION_LOSS_TABLES_
#define NNFUSE_TESTS_REGRESSION_LOSS_TABLES_
namespace nnfuse::test {
using MeanAbsoluteErrorFn = void (*)(const float* predictions, const float* targets, std::size_t rows, float grad_scale,
                                     float* dpredictions, double* loss_sum, double* abs_error_sum);
using HuberFn = void (*)(const float* predictions, const float* targets, std::size_t rows, float grad_scale,
                         float* dpredictions, double* loss_sum, double* abs_error_sum, float delta);
struct RegressionLossTables {
    LossTable<MeanAbsoluteErrorFn> mae;
    LossTable<HuberFn> huber;
    std::int64_t target;  // HWY_TARGET of both tables' code
};
}  // namespace nnfuse::test
#endif  // NNFUSE_TESTS_REGRESSION_LOSS_TABLES_

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

template <std::size_t Outputs>
constexpr LossEntry<MeanAbsoluteErrorFn> Mae() {
    return {Outputs, &kernels::HWY_NAMESPACE::MeanAbsoluteError<Outputs>};
}

template <std::size_t Outputs>
constexpr LossEntry<HuberFn> Hub() {
    return {Outputs, &kernels::HWY_NAMESPACE::Huber<Outputs>};
}

RegressionLossTables RegressionLossKernels() {
    static const LossEntry<MeanAbsoluteErrorFn> mae[] = {Mae<1>(), Mae<3>(), Mae<8>(), Mae<16>(), Mae<17>(), Mae<37>()};
    static const LossEntry<HuberFn> huber[] = {Hub<1>(), Hub<3>(), Hub<8>(), Hub<16>(), Hub<17>(), Hub<37>()};
    return {{HWY_TARGET, mae, sizeof(mae) / sizeof(mae[0])},
            {HWY_TARGET, huber, sizeof(huber) / sizeof(huber[0])},
            HWY_TARGET};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse::test {
namespace {

HWY_EXPORT(RegressionLossKernels);

// Predictions and targets in [-3, 3]; every fifth prediction equals its target (e = 0), every seventh is its target
// plus or minus delta exactly (targets there are multiples of 1/8, so t + delta is exact), and no other error is
// within 0.01 of 0 or of +-delta: the finite differences' steps never straddle a kink.
LossProblem MakeProblem(std::size_t outputs, std::size_t rows, std::uint32_t seed, float delta) {
    std::mt19937 random(seed);
    LossProblem p{outputs, rows, RandomUniform(random, outputs * rows, 3.0),
                  RandomUniform(random, outputs * rows, 3.0)};
    for (std::size_t i = 0; i < p.predictions.size(); ++i) {
        const float t = p.targets[i];
        const float e = p.predictions[i] - t;
        if ((i + seed) % 5 == 0 || std::abs(e) < 0.01f) {
            p.predictions[i] = t;
        } else if ((i + seed) % 7 == 0 || std::abs(std::abs(e) - delta) < 0.01f) {
            p.targets[i] = std::round(t * 8) / 8;
            p.predictions[i] = p.targets[i] + (e > 0 ? delta : -delta);
        }
    }
    return p;
}

double HuberValue(double e, double delta) {
    return std::abs(e) <= delta ? e * e / 2 : delta * std::abs(e) - delta * delta / 2;
}

struct RegressionReference {
    double loss = 0, loss_tolerance = 0, mae = 0, mae_tolerance = 0;
    std::vector<double> gradient, gradient_tolerance;
};

// delta <= 0: the mean absolute error; otherwise Huber with that delta.
RegressionReference ComputeReference(const LossProblem& p, float grad_scale, double delta) {
    const double u = kUnitRoundoff, n = static_cast<double>(p.outputs), factor = grad_scale / n;
    const bool huber = delta > 0;
    RegressionReference ref;
    ref.gradient.resize(p.predictions.size());
    ref.gradient_tolerance.resize(p.predictions.size());
    double losses = 0, loss_tolerances = 0, absolutes = 0;
    for (std::size_t i = 0; i < p.predictions.size(); ++i) {
        const double e = static_cast<double>(p.predictions[i]) - p.targets[i], a = std::abs(e);
        absolutes += a;
        if (huber) {
            const double h = HuberValue(e, delta), clamped = std::clamp(e, -delta, delta);
            losses += h;
            loss_tolerances += 4 * u * (h + delta * a) + kSmallestNormal;
            ref.gradient[i] = clamped * factor;
            ref.gradient_tolerance[i] = 3 * u * std::abs(clamped * factor) + kSmallestNormal;
        } else {
            losses += a;
            loss_tolerances += u * a;
            ref.gradient[i] = e > 0 ? factor : e < 0 ? -factor : 0.0;
            ref.gradient_tolerance[i] = u * factor;
        }
    }
    ref.loss = losses / n;
    ref.loss_tolerance = (loss_tolerances + 40 * u * losses) / n + 1e-15 * ref.loss;
    ref.mae = absolutes / n;
    ref.mae_tolerance = 41 * u * absolutes / n + 1e-15 * ref.mae;
    return ref;
}

void CheckAgainstReference(const LossResult& result, const RegressionReference& ref, bool with_gradient) {
    INFO("loss " << result.loss << ", expected " << ref.loss << " +- " << ref.loss_tolerance);
    CHECK(std::abs(result.loss - ref.loss) <= ref.loss_tolerance);
    INFO("mae " << result.metric << ", expected " << ref.mae << " +- " << ref.mae_tolerance);
    CHECK(std::abs(result.metric - ref.mae) <= ref.mae_tolerance);
    if (with_gradient) {
        CheckWithin(
            "dpredictions", result.gradient.size(), [&](std::size_t i) { return result.gradient[i]; },
            [&](std::size_t i) { return ref.gradient[i]; }, [&](std::size_t i) { return ref.gradient_tolerance[i]; });
    } else {
        CHECK(std::all_of(result.gradient.begin(), result.gradient.end(), [](float v) { return std::isnan(v); }));
    }
}

LossResult RunMae(MeanAbsoluteErrorFn run, const LossProblem& p, float grad_scale, bool with_gradient) {
    return RunGuarded(p, with_gradient, [&](const float* y, const float* t, float* dy, double* loss, double* mae) {
        run(y, t, p.rows, grad_scale, dy, loss, mae);
    });
}

LossResult RunHuber(HuberFn run, const LossProblem& p, float grad_scale, float delta, bool with_gradient) {
    return RunGuarded(p, with_gradient, [&](const float* y, const float* t, float* dy, double* loss, double* mae) {
        run(y, t, p.rows, grad_scale, dy, loss, mae, delta);
    });
}

template <class Body>
void ForEachTargetWithKernels(const Body& body) {
    ForEachTargetTable([] { return HWY_DYNAMIC_DISPATCH(RegressionLossKernels)(); }, body);
}

constexpr float kDeltas[] = {1.0f, 0.5f, 2.5f};  // Keras's default first

TEST_CASE("MeanAbsoluteError matches a double-precision reference on every target", "[mae]") {
    const RegressionLossTables sizes = HWY_DYNAMIC_DISPATCH(RegressionLossKernels)();
    for (std::size_t c = 0; c < sizes.mae.count; ++c) {
        const std::size_t outputs = sizes.mae.entries[c].outputs;
        for (const std::size_t rows : kLossTestRows) {
            INFO("Outputs " << outputs << ", rows " << rows);
            const LossProblem problem = MakeProblem(outputs, rows, static_cast<std::uint32_t>(100 * c + rows), 1.0f);
            const float grad_scale = 1.0f / static_cast<float>(rows);
            const RegressionReference ref = ComputeReference(problem, grad_scale, 0.0);
            ForEachTargetWithKernels([&](const RegressionLossTables& tables) {
                for (const bool with_gradient : {true, false}) {
                    INFO((with_gradient ? "with dpredictions" : "dpredictions == nullptr"));
                    CheckAgainstReference(RunMae(tables.mae.entries[c].run, problem, grad_scale, with_gradient), ref,
                                          with_gradient);
                }
            });
        }
    }
}

TEST_CASE("Huber matches a double-precision reference on every target", "[huber]") {
    const RegressionLossTables sizes = HWY_DYNAMIC_DISPATCH(RegressionLossKernels)();
    for (std::size_t c = 0; c < sizes.huber.count; ++c) {
        const std::size_t outputs = sizes.huber.entries[c].outputs;
        for (const float delta : kDeltas) {
            for (const std::size_t rows : kLossTestRows) {
                INFO("Outputs " << outputs << ", rows " << rows << ", delta " << delta);
                const LossProblem problem =
                    MakeProblem(outputs, rows, static_cast<std::uint32_t>(100 * c + rows), delta);
                const float grad_scale = 1.0f / static_cast<float>(rows);
                const RegressionReference ref = ComputeReference(problem, grad_scale, delta);
                ForEachTargetWithKernels([&](const RegressionLossTables& tables) {
                    for (const bool with_gradient : {true, false}) {
                        INFO((with_gradient ? "with dpredictions" : "dpredictions == nullptr"));
                        CheckAgainstReference(
                            RunHuber(tables.huber.entries[c].run, problem, grad_scale, delta, with_gradient), ref,
                            with_gradient);
                    }
                });
            }
        }
    }
}

TEST_CASE("MAE's gradient is 0 where the prediction is exact; Huber's is +-delta at |e| = delta, on every target",
          "[mae][huber]") {
    // Outputs 3, one row: errors 0, +1, -1 (targets 0.5; delta 1 and the Huber values 0, 0.5, 0.5). The totals are
    // compared within 1e-15: RunGuarded's running totals start at 0.25 and 1.5, whose removal rounds.
    const LossProblem problem{3, 1, {0.5f, 1.5f, -0.5f}, {0.5f, 0.5f, 0.5f}};
    ForEachTargetWithKernels([&](const RegressionLossTables& tables) {
        REQUIRE(tables.mae.entries[1].outputs == 3);
        const LossResult mae = RunMae(tables.mae.entries[1].run, problem, 3.0f, true);
        CHECK(mae.gradient == std::vector<float>{0.0f, 1.0f, -1.0f});
        CHECK(std::abs(mae.loss - 2.0 / 3) <= 1e-15);
        CHECK(std::abs(mae.metric - 2.0 / 3) <= 1e-15);  // the loss is its own metric
        const LossResult huber = RunHuber(tables.huber.entries[1].run, problem, 3.0f, 1.0f, true);
        CHECK(huber.gradient == std::vector<float>{0.0f, 1.0f, -1.0f});
        CHECK(std::abs(huber.loss - 1.0 / 3) <= 1e-15);
        CHECK(std::abs(huber.metric - 2.0 / 3) <= 1e-15);
    });
}

TEST_CASE("MAE's and Huber's gradients agree with finite differences of the mean losses on every target",
          "[mae][huber]") {
    // The mean losses in double; their gradients are dpredictions with grad_scale = 1 / rows. No error lies within
    // 0.01 of a kink except at one (0 for MAE, whose central difference is then 0 like TensorFlow's subgradient;
    // +-delta for Huber, whose central difference is then off by step / 4 times the factor).
    constexpr double kStep = 1e-4;
    constexpr std::size_t kRows = 3;
    const RegressionLossTables sizes = HWY_DYNAMIC_DISPATCH(RegressionLossKernels)();
    for (std::size_t c = 0; c < sizes.mae.count; ++c) {
        const std::size_t outputs = sizes.mae.entries[c].outputs;
        const double factor = 1.0 / static_cast<double>(outputs * kRows);
        for (const float delta : kDeltas) {
            INFO("Outputs " << outputs << ", delta " << delta);
            const LossProblem problem = MakeProblem(outputs, kRows, static_cast<std::uint32_t>(900 + c), delta);
            const auto mean_loss = [&](const std::vector<double>& y, bool huber) {
                double sum = 0;
                for (std::size_t i = 0; i < y.size(); ++i) {
                    const double e = y[i] - problem.targets[i];
                    sum += huber ? HuberValue(e, delta) : std::abs(e);
                }
                return sum * factor;
            };
            const std::vector<double> predictions = ToDouble(problem.predictions);
            const std::vector<double> fd_mae = FiniteDifferences(
                predictions, [&](const std::vector<double>& y) { return mean_loss(y, false); }, kStep);
            const std::vector<double> fd_huber = FiniteDifferences(
                predictions, [&](const std::vector<double>& y) { return mean_loss(y, true); }, kStep);
            const auto tolerance = [&](const std::vector<double>& fd) {
                return [&](std::size_t i) { return kStep * factor + 1e-6 * std::abs(fd[i]); };
            };
            ForEachTargetWithKernels([&](const RegressionLossTables& tables) {
                const std::vector<float> mae = RunMae(tables.mae.entries[c].run, problem, 1.0f / kRows, true).gradient;
                CheckWithin(
                    "MAE dpredictions", fd_mae.size(), [&](std::size_t i) { return mae[i]; },
                    [&](std::size_t i) { return fd_mae[i]; }, tolerance(fd_mae));
                const std::vector<float> huber =
                    RunHuber(tables.huber.entries[c].run, problem, 1.0f / kRows, delta, true).gradient;
                CheckWithin(
                    "Huber dpredictions", fd_huber.size(), [&](std::size_t i) { return huber[i]; },
                    [&](std::size_t i) { return fd_huber[i]; }, tolerance(fd_huber));
            });
        }
    }
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
