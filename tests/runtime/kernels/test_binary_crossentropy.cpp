// SigmoidBinaryCrossEntropy on every compiled SIMD target: loss, gradient and binary accuracy against a
// double-precision reference, evaluation without a gradient, extreme logits, the accuracy's ties, and the gradient
// by central finite differences of the double-precision mean loss.
//
// Reference (double, from the definitions): with s(z) = 1 / (1 + e^-z), loss = -t log s(z) - (1 - t) log(1 - s(z)),
// written stably as max(z, 0) - z t + log1p(e^-|z|). Tolerances, with u float's unit roundoff:
//   a value's loss:    2u (|max(z, 0) - z t| + |z t|) + 8u log1p(e^-|z|)    (z t rounded where the target has no
//                                                     FMA, the difference, the final add; Exp and Log1p a few ulp)
//   the batch's loss:  their sum + 40u sum of the losses           (float sums of up to 16 vectors, then the lanes)
//   a gradient:        (8u s(z) + 3u |s(z) - t|) grad_scale / Outputs   (s from Exp, an add, a divide, a product;
//                                                                  the subtraction, the factor's rounding, product)
// plus the smallest normal float per value (e^-100 is subnormal in float).

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/kernels/test_binary_crossentropy.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/sigmoid_binary_xent-inl.h"
#include "tests/runtime/kernels/loss_test_support.hpp"

// Declared once, though foreach_target includes this file once per target.
#ifndef NNFUSE_TESTS_BCE_TABLE_
#define NNFUSE_TESTS_BCE_TABLE_
namespace nnfuse::test {
using BinaryCrossEntropyFn = void (*)(const float* logits, const float* targets, std::size_t rows, float grad_scale,
                                      float* dlogits, double* loss_sum, double* accuracy_sum);
using BceTable = LossTable<BinaryCrossEntropyFn>;
}  // namespace nnfuse::test
#endif  // NNFUSE_TESTS_BCE_TABLE_

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

template <std::size_t Outputs>
constexpr LossEntry<BinaryCrossEntropyFn> Bce() {
    return {Outputs, &kernels::HWY_NAMESPACE::SigmoidBinaryCrossEntropy<Outputs>};
}

BceTable BinaryCrossEntropyKernels() {
    static const LossEntry<BinaryCrossEntropyFn> entries[] = {Bce<1>(),  Bce<3>(),  Bce<8>(),
                                                              Bce<16>(), Bce<17>(), Bce<37>()};
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse::test {
namespace {

HWY_EXPORT(BinaryCrossEntropyKernels);

// Logits in [-8, 8], some exactly 0 (the accuracy's tie); targets cycling through 0, 1, a soft value in [0, 1]
// and a random 0 or 1.
LossProblem MakeProblem(std::size_t outputs, std::size_t rows, std::uint32_t seed) {
    std::mt19937 random(seed);
    LossProblem p{outputs, rows, RandomUniform(random, outputs * rows, 8.0), {}};
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    p.targets.resize(p.predictions.size());
    for (std::size_t i = 0; i < p.targets.size(); ++i) {
        const std::size_t kind = (i + seed) % 4;
        p.targets[i] = kind == 0 ? 0.0f : kind == 1 ? 1.0f : kind == 2 ? unit(random) : (random() % 2 ? 1.0f : 0.0f);
        if ((i + seed) % 7 == 0) p.predictions[i] = 0.0f;
    }
    return p;
}

double ReferenceLoss(double z, double t) { return std::max(z, 0.0) - z * t + std::log1p(std::exp(-std::abs(z))); }
double ReferenceSigmoid(double z) { return z >= 0 ? 1 / (1 + std::exp(-z)) : std::exp(z) / (1 + std::exp(z)); }

struct BceReference {
    double loss = 0, loss_tolerance = 0, accuracy = 0;
    std::vector<double> gradient, gradient_tolerance;
};

BceReference ComputeReference(const LossProblem& p, float grad_scale) {
    const double u = kUnitRoundoff, n = static_cast<double>(p.outputs);
    const double factor = grad_scale / n;
    BceReference ref;
    ref.gradient.resize(p.predictions.size());
    ref.gradient_tolerance.resize(p.predictions.size());
    double losses = 0, tolerances = 0;
    for (std::size_t r = 0; r < p.rows; ++r) {
        std::size_t matches = 0;
        for (std::size_t j = 0; j < p.outputs; ++j) {
            const std::size_t i = r * p.outputs + j;
            const double z = p.predictions[i], t = p.targets[i];
            const double loss = ReferenceLoss(z, t), s = ReferenceSigmoid(z);
            losses += loss;
            tolerances += 2 * u * (std::abs(std::max(z, 0.0) - z * t) + std::abs(z * t)) +
                          8 * u * std::log1p(std::exp(-std::abs(z))) + kSmallestNormal;
            ref.gradient[i] = (s - t) * factor;
            ref.gradient_tolerance[i] = (8 * u * s + 3 * u * std::abs(s - t)) * factor + kSmallestNormal;
            matches += (t == (z > 0 ? 1.0 : 0.0)) ? 1 : 0;
        }
        ref.accuracy += static_cast<double>(matches) / n;
    }
    ref.loss = losses / n;
    ref.loss_tolerance = (tolerances + 40 * u * losses) / n + 1e-15 * ref.loss;
    return ref;
}

LossResult RunBce(BinaryCrossEntropyFn run, const LossProblem& p, float grad_scale, bool with_gradient) {
    return RunGuarded(p, with_gradient, [&](const float* z, const float* t, float* dz, double* loss, double* metric) {
        run(z, t, p.rows, grad_scale, dz, loss, metric);
    });
}

void CheckAgainstReference(const LossResult& result, const BceReference& ref, bool with_gradient) {
    INFO("loss " << result.loss << ", expected " << ref.loss << " +- " << ref.loss_tolerance);
    CHECK(std::abs(result.loss - ref.loss) <= ref.loss_tolerance);
    INFO("accuracy sum " << result.metric << ", expected " << ref.accuracy);
    CHECK(std::abs(result.metric - ref.accuracy) <= 1e-12 * (1 + ref.accuracy));
    if (with_gradient) {
        CheckWithin(
            "dlogits", result.gradient.size(), [&](std::size_t i) { return result.gradient[i]; },
            [&](std::size_t i) { return ref.gradient[i]; }, [&](std::size_t i) { return ref.gradient_tolerance[i]; });
    } else {
        CHECK(std::all_of(result.gradient.begin(), result.gradient.end(), [](float v) { return std::isnan(v); }));
    }
}

template <class Body>
void ForEachTargetWithKernels(const Body& body) {
    ForEachTargetTable([] { return HWY_DYNAMIC_DISPATCH(BinaryCrossEntropyKernels)(); }, body);
}

TEST_CASE("SigmoidBinaryCrossEntropy matches a double-precision reference on every target", "[bce]") {
    const BceTable sizes = HWY_DYNAMIC_DISPATCH(BinaryCrossEntropyKernels)();
    for (std::size_t c = 0; c < sizes.count; ++c) {
        const std::size_t outputs = sizes.entries[c].outputs;
        for (const std::size_t rows : kLossTestRows) {
            INFO("Outputs " << outputs << ", rows " << rows);
            const LossProblem problem = MakeProblem(outputs, rows, static_cast<std::uint32_t>(100 * c + rows));
            const float grad_scale = 1.0f / static_cast<float>(rows);
            const BceReference ref = ComputeReference(problem, grad_scale);
            ForEachTargetWithKernels([&](const BceTable& table) {
                for (const bool with_gradient : {true, false}) {
                    INFO((with_gradient ? "with dlogits" : "dlogits == nullptr"));
                    CheckAgainstReference(RunBce(table.entries[c].run, problem, grad_scale, with_gradient), ref,
                                          with_gradient);
                }
            });
        }
    }
}

TEST_CASE("SigmoidBinaryCrossEntropy stays finite and correct for logits of magnitude 100 and 1e4", "[bce]") {
    // Each logit with targets 0, 1 and 0.5: losses from ~e^-100 (subnormal in float) up to 1e4; a naive
    // log(sigmoid(z)) would give log(0) = -inf, and e^|z| would overflow.
    const std::vector<float> logits = {100.0f, -100.0f, 1e4f, -1e4f};
    const std::vector<float> target_values = {0.0f, 1.0f, 0.5f};
    LossProblem problem{1, logits.size() * target_values.size(), {}, {}};
    for (const float z : logits) {
        for (const float t : target_values) problem.predictions.push_back(z), problem.targets.push_back(t);
    }
    const float grad_scale = 1.0f / static_cast<float>(problem.rows);
    const BceReference ref = ComputeReference(problem, grad_scale);
    // Written out, not only through the reference: z = 100, t = 0 costs 100, t = 1 almost nothing.
    CHECK(std::abs(ReferenceLoss(100, 0) - 100) < 1e-12);
    CHECK(ReferenceLoss(100, 1) < 1e-40);
    ForEachTargetWithKernels([&](const BceTable& table) {
        const LossResult result = RunBce(table.entries[0].run, problem, grad_scale, true);
        CHECK(std::isfinite(result.loss));
        CHECK(std::all_of(result.gradient.begin(), result.gradient.end(), [](float v) { return std::isfinite(v); }));
        CheckAgainstReference(result, ref, true);
        // Saturated: the gradient is -t or 1 - t times the factor, exactly as floats round it.
        CHECK(result.gradient[0] == grad_scale);         // z = 100, t = 0
        CHECK(result.gradient[4] == -grad_scale);        // z = -100, t = 1
        CHECK(result.gradient[2] == 0.5f * grad_scale);  // z = 100, t = 0.5
    });
}

TEST_CASE("binary accuracy: a logit predicts 1 only above 0 and soft targets never count, on every target",
          "[bce][accuracy]") {
    // Keras: y_true == cast(sigmoid(z) > 0.5). Outputs 3 so that one row mixes right and wrong outputs.
    const LossProblem problem{3,
                              4,
                              {0.0f, 0.0f, -0.0f, 1e-30f, -1e-30f, 2.0f, 0.5f, -0.5f, 3.0f, -3.0f, 0.0f, 7.0f},
                              {0.0f, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.5f, 0.5f, 1.0f, 0.0f, 0.5f, 1.0f}};
    // Row 0: 0 -> 0 right, 0 -> 1 wrong, -0 -> 0 right: 2/3. Row 1: 1e-30 -> 1 right, -1e-30 -> 0 right,
    // 2 -> 0 wrong: 2/3. Row 2: soft targets never match, 3 -> 1 right: 1/3. Row 3: -3 -> 0 right, soft wrong,
    // 7 -> 1 right: 2/3.
    constexpr double kExpected = 2.0 / 3 + 2.0 / 3 + 1.0 / 3 + 2.0 / 3;
    ForEachTargetWithKernels([&](const BceTable& table) {
        const LossEntry<BinaryCrossEntropyFn>& entry = table.entries[1];
        REQUIRE(entry.outputs == 3);
        const LossResult result = RunBce(entry.run, problem, 0.25f, false);
        CHECK(std::abs(result.metric - kExpected) <= 1e-15);
    });
}

TEST_CASE("SigmoidBinaryCrossEntropy's gradient agrees with finite differences of the mean loss on every target",
          "[bce]") {
    // The mean loss in double; its gradient is dlogits with grad_scale = 1 / rows. With step 1e-3 the central
    // difference's truncation error is below 1e-7 of the factor, far inside the kernel's float tolerance.
    constexpr double kStep = 1e-3;
    constexpr std::size_t kRows = 3;
    const BceTable sizes = HWY_DYNAMIC_DISPATCH(BinaryCrossEntropyKernels)();
    for (std::size_t c = 0; c < sizes.count; ++c) {
        const std::size_t outputs = sizes.entries[c].outputs;
        INFO("Outputs " << outputs);
        const LossProblem problem = MakeProblem(outputs, kRows, static_cast<std::uint32_t>(900 + c));
        const auto mean_loss = [&](const std::vector<double>& z) {
            double sum = 0;
            for (std::size_t i = 0; i < z.size(); ++i) sum += ReferenceLoss(z[i], problem.targets[i]);
            return sum / static_cast<double>(outputs * kRows);
        };
        const std::vector<double> fd = FiniteDifferences(ToDouble(problem.predictions), mean_loss, kStep);
        const double factor = 1.0 / static_cast<double>(outputs * kRows);
        ForEachTargetWithKernels([&](const BceTable& table) {
            const std::vector<float> gradient = RunBce(table.entries[c].run, problem, 1.0f / kRows, true).gradient;
            CheckWithin(
                "dlogits", fd.size(), [&](std::size_t i) { return gradient[i]; }, [&](std::size_t i) { return fd[i]; },
                [&](std::size_t i) { return 16 * kUnitRoundoff * factor + 1e-6 * std::abs(fd[i]); });
        });
    }
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
