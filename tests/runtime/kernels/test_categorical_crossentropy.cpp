// SoftmaxCategoricalCrossEntropy on every compiled SIMD target: loss, gradient and categorical accuracy against a
// double-precision reference on one-hot and soft targets, evaluation without a gradient, extreme logits, the
// argmaxes' ties, and the gradient by central finite differences of the double-precision mean loss.
//
// Reference (double, from the definition): loss_r = -sum_j t_j log softmax(z)_j, gradient (p - t) grad_scale,
// correct when the first maximal logit and the first maximal target share their index. Soft targets are multiples
// of 1/64 summing to exactly 1, so the float targets meet the kernel's requirement exactly.
// Tolerances, with u float's unit roundoff, m the row maximum, s = sum_j p_j |z_j - m|, T = sum_j t_j and
// W = sum_j t_j (m - z_j):
//   loss of a row:  T (2 s + 2 Units + 8) u + (Units + 4) u W + Units u T log S   log S as in test_softmax_xent.cpp;
//                                              W's differences, products and float sum; T's float sum
//   gradient:       |grad_scale| (p_j (2 |z_j - m| + 2 s + 2 Units + 12) u + |p_j - t_j| u + t_j u)   as for sparse
//                   targets, and t_j grad_scale's own rounding on targets without FMA (SSSE3 and the fallback)
//   correct count:  exact.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/kernels/test_categorical_crossentropy.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/softmax_categorical_xent-inl.h"
#include "tests/runtime/kernels/loss_test_support.hpp"

// Declared once, though foreach_target includes this file once per target.
#ifndef NNFUSE_TESTS_CCE_TABLE_
#define NNFUSE_TESTS_CCE_TABLE_
namespace nnfuse::test {
using CategoricalCrossEntropyFn = void (*)(const float* logits, const float* targets, std::size_t rows,
                                           float grad_scale, float* dlogits, double* loss_sum, double* correct);
using CceTable = LossTable<CategoricalCrossEntropyFn>;
}  // namespace nnfuse::test
#endif  // NNFUSE_TESTS_CCE_TABLE_

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

template <std::size_t Units>
constexpr LossEntry<CategoricalCrossEntropyFn> Cce() {
    return {Units, &kernels::HWY_NAMESPACE::SoftmaxCategoricalCrossEntropy<Units>};
}

CceTable CategoricalCrossEntropyKernels() {
    static const LossEntry<CategoricalCrossEntropyFn> entries[] = {Cce<1>(),  Cce<2>(),  Cce<3>(),  Cce<8>(),
                                                                   Cce<10>(), Cce<16>(), Cce<17>(), Cce<37>()};
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse::test {
namespace {

HWY_EXPORT(CategoricalCrossEntropyKernels);

// Logits in [-5, 5]; even rows one-hot at a random class, odd rows soft: random multiples of 1/64 summing to 1.
LossProblem MakeProblem(std::size_t units, std::size_t rows, std::uint32_t seed) {
    std::mt19937 random(seed);
    LossProblem p{units, rows, RandomUniform(random, units * rows, 5.0), std::vector<float>(units * rows, 0.0f)};
    std::uniform_int_distribution<std::size_t> position(0, units - 1);
    for (std::size_t r = 0; r < rows; ++r) {
        float* row = p.targets.data() + r * units;
        if (r % 2 == 0) {
            row[position(random)] = 1.0f;
        } else {
            for (int share = 0; share < 64; ++share) row[position(random)] += 1.0f / 64;  // exact in float
        }
    }
    return p;
}

std::size_t FirstMaximum(const double* values, std::size_t count) {
    std::size_t index = 0;
    for (std::size_t j = 1; j < count; ++j) {
        if (values[j] > values[index]) index = j;
    }
    return index;
}

struct CceReference {
    double loss = 0, loss_tolerance = 0;
    std::size_t correct = 0;
    std::vector<double> gradient, gradient_tolerance;
};

CceReference ComputeReference(const LossProblem& p, float grad_scale) {
    const double u = kUnitRoundoff, units = static_cast<double>(p.outputs);
    const std::vector<double> logits = ToDouble(p.predictions), targets = ToDouble(p.targets);
    CceReference ref;
    ref.gradient.resize(logits.size());
    ref.gradient_tolerance.resize(logits.size());
    for (std::size_t r = 0; r < p.rows; ++r) {
        const double* z = logits.data() + r * p.outputs;
        const double* t = targets.data() + r * p.outputs;
        const std::size_t argmax = FirstMaximum(z, p.outputs);
        const double max = z[argmax];
        double sum = 0, spread = 0, target_sum = 0, weighted_gap = 0, loss = 0;
        for (std::size_t j = 0; j < p.outputs; ++j) sum += std::exp(z[j] - max);
        for (std::size_t j = 0; j < p.outputs; ++j) {
            const double probability = std::exp(z[j] - max) / sum;
            spread += probability * (max - z[j]);
            target_sum += t[j];
            weighted_gap += t[j] * (max - z[j]);
            loss -= t[j] * (z[j] - max - std::log(sum));
        }
        ref.loss += loss;
        ref.loss_tolerance += target_sum * (2 * spread + 2 * units + 8) * u + (units + 4) * u * weighted_gap +
                              units * u * target_sum * std::log(sum);
        ref.correct += argmax == FirstMaximum(t, p.outputs) ? 1 : 0;
        for (std::size_t j = 0; j < p.outputs; ++j) {
            const std::size_t i = r * p.outputs + j;
            const double probability = std::exp(z[j] - max) / sum;
            ref.gradient[i] = (probability - t[j]) * grad_scale;
            ref.gradient_tolerance[i] =
                std::abs(grad_scale) * (probability * (2 * (max - z[j]) + 2 * spread + 2 * units + 12) * u +
                                        std::abs(probability - t[j]) * u + t[j] * u) +
                kSmallestNormal;
        }
    }
    ref.loss_tolerance += 1e-15 * std::abs(ref.loss);  // the double accumulation over rows
    return ref;
}

constexpr std::size_t kInitialCorrect = 7;

LossResult RunCce(CategoricalCrossEntropyFn run, const LossProblem& p, float grad_scale, bool with_gradient) {
    return RunGuarded(p, with_gradient, [&](const float* z, const float* t, float* dz, double* loss, double* metric) {
        double correct = kInitialCorrect;  // nonzero: the kernel must add to it
        run(z, t, p.rows, grad_scale, dz, loss, &correct);
        *metric += correct - kInitialCorrect;
    });
}

void CheckAgainstReference(const LossResult& result, const CceReference& ref, bool with_gradient) {
    INFO("loss " << result.loss << ", expected " << ref.loss << " +- " << ref.loss_tolerance);
    CHECK(std::abs(result.loss - ref.loss) <= ref.loss_tolerance);
    CHECK(result.metric == static_cast<double>(ref.correct));
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
    ForEachTargetTable([] { return HWY_DYNAMIC_DISPATCH(CategoricalCrossEntropyKernels)(); }, body);
}

TEST_CASE("SoftmaxCategoricalCrossEntropy matches a double-precision reference on every target", "[cce]") {
    const CceTable sizes = HWY_DYNAMIC_DISPATCH(CategoricalCrossEntropyKernels)();
    for (std::size_t c = 0; c < sizes.count; ++c) {
        const std::size_t units = sizes.entries[c].outputs;
        for (const std::size_t rows : kLossTestRows) {
            INFO("Units " << units << ", rows " << rows);
            const LossProblem problem = MakeProblem(units, rows, static_cast<std::uint32_t>(100 * c + rows));
            const float grad_scale = 1.0f / static_cast<float>(rows);
            const CceReference ref = ComputeReference(problem, grad_scale);
            ForEachTargetWithKernels([&](const CceTable& table) {
                for (const bool with_gradient : {true, false}) {
                    INFO((with_gradient ? "with dlogits" : "dlogits == nullptr"));
                    CheckAgainstReference(RunCce(table.entries[c].run, problem, grad_scale, with_gradient), ref,
                                          with_gradient);
                }
            });
        }
    }
}

TEST_CASE("SoftmaxCategoricalCrossEntropy stays finite and correct for logits of magnitude 100 and 1e4", "[cce]") {
    // Units 3. A confident wrong row costs about the logits' gap; e^(z - m) underflows to 0 where a naive softmax
    // would overflow.
    const LossProblem problem{3,
                              4,
                              {100.0f, -100.0f, 0.0f, 100.0f, -100.0f, 0.0f, -1e4f, 1e4f, 0.0f, 1e4f, -1e4f, 1e4f},
                              {0.0f, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.5f, 0.25f, 0.25f, 0.0f, 0.0f, 1.0f}};
    const CceTable sizes = HWY_DYNAMIC_DISPATCH(CategoricalCrossEntropyKernels)();
    REQUIRE(sizes.entries[2].outputs == 3);
    const CceReference ref = ComputeReference(problem, 0.25f);
    // Written out, not only through the reference: row 0 costs 200, row 1 almost nothing, row 2
    // 0.5 * 2e4 + 0.25 * 1e4, row 3 log 2 (two equal maxima, the target on the second).
    CHECK(std::abs(ref.loss - (200 + 0 + 12500 + std::log(2.0))) < 1e-9);
    ForEachTargetWithKernels([&](const CceTable& table) {
        const LossResult result = RunCce(table.entries[2].run, problem, 0.25f, true);
        CHECK(std::isfinite(result.loss));
        CHECK(std::all_of(result.gradient.begin(), result.gradient.end(), [](float v) { return std::isfinite(v); }));
        CheckAgainstReference(result, ref, true);
        CHECK(result.metric == 1.0);  // row 1 only: in row 3 the first maximal logit is index 0, the target's 2
    });
}

TEST_CASE("categorical accuracy: the first maximum wins on both sides, on every target", "[cce][accuracy]") {
    // Units 3. Rows 0-1: logits tie at 0 and 1; one-hot at 0 (right), at 1 (wrong). Rows 2-3: targets tie at 1
    // and 2 (0, 0.5, 0.5); logits' maximum at 1 (right), at 2 (wrong). Row 4: all logits equal, one-hot at 0
    // (right). Row 5: soft 1/4, 1/4, 1/2 and the logits' maximum at 2 (right).
    const LossProblem problem{
        3,
        6,
        {2.0f, 2.0f, 1.0f, 2.0f, 2.0f, 1.0f, 0.0f, 1.0f, -1.0f, 0.0f, -1.0f, 1.0f, 0.5f, 0.5f, 0.5f, -1.0f, 0.0f, 3.0f},
        {1.0f, 0.0f, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.5f, 0.5f, 0.0f, 0.5f, 0.5f, 1.0f, 0.0f, 0.0f, 0.25f, 0.25f, 0.5f}};
    constexpr std::size_t kExpectedCorrect = 4;
    ForEachTargetWithKernels([&](const CceTable& table) {
        const LossEntry<CategoricalCrossEntropyFn>& entry = table.entries[2];
        REQUIRE(entry.outputs == 3);
        CHECK(RunCce(entry.run, problem, 1.0f / 6, false).metric == static_cast<double>(kExpectedCorrect));
    });
}

TEST_CASE("SoftmaxCategoricalCrossEntropy's gradient agrees with finite differences of the mean loss on every target",
          "[cce]") {
    // The mean loss in double; its gradient is dlogits with grad_scale = 1 / rows (targets summing to 1 exactly).
    // With step 1e-3 the central difference's truncation error is about 1e-7 / rows.
    constexpr double kStep = 1e-3;
    constexpr std::size_t kRows = 4;
    const CceTable sizes = HWY_DYNAMIC_DISPATCH(CategoricalCrossEntropyKernels)();
    for (std::size_t c = 0; c < sizes.count; ++c) {
        const std::size_t units = sizes.entries[c].outputs;
        INFO("Units " << units);
        const LossProblem problem = MakeProblem(units, kRows, static_cast<std::uint32_t>(900 + c));
        const auto mean_loss = [&](const std::vector<double>& z) {
            double total = 0;
            for (std::size_t r = 0; r < kRows; ++r) {
                const double* row = z.data() + r * units;
                const double max = row[FirstMaximum(row, units)];
                double sum = 0;
                for (std::size_t j = 0; j < units; ++j) sum += std::exp(row[j] - max);
                for (std::size_t j = 0; j < units; ++j) {
                    total -= problem.targets[r * units + j] * (row[j] - max - std::log(sum));
                }
            }
            return total / kRows;
        };
        const std::vector<double> fd = FiniteDifferences(ToDouble(problem.predictions), mean_loss, kStep);
        ForEachTargetWithKernels([&](const CceTable& table) {
            const std::vector<float> gradient = RunCce(table.entries[c].run, problem, 1.0f / kRows, true).gradient;
            CheckWithin(
                "dlogits", fd.size(), [&](std::size_t i) { return gradient[i]; }, [&](std::size_t i) { return fd[i]; },
                [&](std::size_t i) { return 1e-6 / kRows + 1e-5 * std::abs(fd[i]); });
        });
    }
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
