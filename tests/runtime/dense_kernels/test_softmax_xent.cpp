// SoftmaxCrossEntropy on every compiled SIMD target: loss, gradient and correct count against a double-precision
// reference (ties included), evaluation without a gradient, stability at logits of magnitude 1e4, and central
// finite differences of the mean loss.
//
// Reference tolerances, with u float's unit roundoff, m the row maximum and s = sum_j p_j |z_j - m|:
//   loss of a row:  (2 s + 2 Units + 8) u    each exponent z_j - m is rounded (|z_j - m| u, weighted by p_j in
//                                            the sum) before Exp (1 ulp); the float sum adds Units u; log in double.
//   gradient:       |scale| (p_i (2 |z_i - m| + 2 s + 2 Units + 12) u + |p_i - onehot_i| u)   the same for p_i,
//                   then the rounding of (p - onehot) * scale; scale is the float the kernel receives.
//   correct count:  exact.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/dense_kernels/test_softmax_xent.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/softmax_xent-inl.h"
#include "tests/runtime/dense_kernels/dense_test_support.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

template <std::size_t Units>
constexpr KernelEntry<SoftmaxCrossEntropyFn> Xent() {
    return {{0, Units, activation_kind::softmax, false}, &kernels::HWY_NAMESPACE::SoftmaxCrossEntropy<Units>};
}

KernelTable<SoftmaxCrossEntropyFn> SoftmaxCrossEntropyKernels() {
    static const KernelEntry<SoftmaxCrossEntropyFn> entries[] = {
        Xent<1>(), Xent<10>(), Xent<16>(), Xent<17>(), Xent<20>(), Xent<33>(),
    };
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse::test {
namespace {

HWY_EXPORT(SoftmaxCrossEntropyKernels);

constexpr std::size_t kRowCounts[] = {1, 2, 3, 32, 257};

struct XentProblem {
    std::size_t units, rows;
    std::vector<float> logits;
    std::vector<std::int32_t> labels;
};

// Normal logits (sd `spread`) with random labels. Every third row (Units >= 2) gets a tie for its maximum at two
// random positions a < b, labelled a or b in turn: argmax must pick the first, a. Row 1, if any, is all equal.
XentProblem MakeProblem(std::size_t units, std::size_t rows, double spread, std::uint32_t seed) {
    std::mt19937 random(seed);
    std::normal_distribution<float> logit(0.0f, static_cast<float>(spread));
    std::uniform_int_distribution<std::int32_t> label(0, static_cast<std::int32_t>(units) - 1);
    XentProblem problem{units, rows, std::vector<float>(rows * units), std::vector<std::int32_t>(rows)};
    for (float& value : problem.logits) value = logit(random);
    for (auto& value : problem.labels) value = label(random);
    if (units < 2) return problem;
    std::uniform_int_distribution<std::size_t> position(0, units - 1);
    for (std::size_t r = 0; r < rows; r += 3) {
        float* row = problem.logits.data() + r * units;
        std::size_t a = position(random), b = position(random);
        while (b == a) b = position(random);
        if (b < a) std::swap(a, b);
        row[a] = row[b] = *std::max_element(row, row + units) + 1.0f;
        problem.labels[r] = static_cast<std::int32_t>(r % 2 == 0 ? a : b);
    }
    if (rows > 1) {
        std::fill_n(problem.logits.data() + units, units, 0.5f);
        problem.labels[1] = static_cast<std::int32_t>(units - 1);  // wrong: the first of equal logits wins
    }
    return problem;
}

struct XentReference {
    double loss = 0, loss_tolerance = 0;
    std::size_t correct = 0;
    std::vector<double> gradient, gradient_tolerance;
};

XentReference ComputeReference(const XentProblem& problem, float grad_scale) {
    const double u = kUnitRoundoff;
    const auto units = static_cast<double>(problem.units);
    XentReference reference;
    reference.gradient.resize(problem.logits.size());
    reference.gradient_tolerance.resize(problem.logits.size());
    for (std::size_t r = 0; r < problem.rows; ++r) {
        const float* row = problem.logits.data() + r * problem.units;
        const auto label = static_cast<std::size_t>(problem.labels[r]);
        std::size_t argmax = 0;
        for (std::size_t j = 1; j < problem.units; ++j) {
            if (row[j] > row[argmax]) argmax = j;
        }
        const double max = row[argmax];
        double sum = 0;
        for (std::size_t j = 0; j < problem.units; ++j) sum += std::exp(row[j] - max);
        double spread = 0;
        for (std::size_t j = 0; j < problem.units; ++j) spread += std::exp(row[j] - max) / sum * std::abs(row[j] - max);
        reference.loss += max + std::log(sum) - row[label];
        reference.loss_tolerance += (2 * spread + 2 * units + 8) * u;
        reference.correct += argmax == label ? 1 : 0;
        for (std::size_t j = 0; j < problem.units; ++j) {
            const double p = std::exp(row[j] - max) / sum;
            const std::size_t i = r * problem.units + j;
            const double difference = p - (j == label ? 1.0 : 0.0);
            reference.gradient[i] = difference * grad_scale;
            reference.gradient_tolerance[i] =
                std::abs(grad_scale) *
                    (p * (2 * std::abs(row[j] - max) + 2 * spread + 2 * units + 12) * u + std::abs(difference) * u) +
                kSmallestNormal;
        }
    }
    reference.loss_tolerance += 1e-15 * std::abs(reference.loss);  // the double accumulation over rows
    return reference;
}

// What the kernel adds to nonzero running totals (checking that it adds rather than overwrites), and its gradient.
struct XentResult {
    double loss;
    double correct;  // a count, exact in double
    std::vector<float> gradient;
};

constexpr double kInitialLoss = 0.25;
constexpr double kInitialCorrect = 7.0;

XentResult RunXent(SoftmaxCrossEntropyFn run, const XentProblem& problem, float grad_scale, bool with_gradient) {
    const auto logits = GuardedArray<float>::CopyOf(problem.logits);
    const auto labels = GuardedArray<std::int32_t>::CopyOf(problem.labels);
    GuardedArray<float> gradient(problem.logits.size(), kUnwritten);
    double loss_sum = kInitialLoss;
    double correct = kInitialCorrect;
    run(logits.data(), labels.data(), problem.rows, grad_scale, with_gradient ? gradient.data() : nullptr, &loss_sum,
        &correct);
    return {loss_sum - kInitialLoss, correct - kInitialCorrect, gradient.ToVector()};
}

void CheckAgainstReference(SoftmaxCrossEntropyFn run, const XentProblem& problem, float grad_scale) {
    const XentReference reference = ComputeReference(problem, grad_scale);
    for (const bool with_gradient : {true, false}) {
        INFO((with_gradient ? "with dlogits" : "dlogits == nullptr"));
        const XentResult result = RunXent(run, problem, grad_scale, with_gradient);
        INFO("loss " << result.loss << ", expected " << reference.loss << " +- " << reference.loss_tolerance);
        CHECK(std::abs(result.loss - reference.loss) <= reference.loss_tolerance);
        CHECK(result.correct == static_cast<double>(reference.correct));
        if (with_gradient) {
            CheckWithin(
                "dlogits", result.gradient.size(), [&](std::size_t i) { return result.gradient[i]; },
                [&](std::size_t i) { return reference.gradient[i]; },
                [&](std::size_t i) { return reference.gradient_tolerance[i]; });
        } else {
            CHECK(std::all_of(result.gradient.begin(), result.gradient.end(), [](float v) { return std::isnan(v); }));
        }
    }
}

TEST_CASE("SoftmaxCrossEntropy matches a double-precision reference on every target", "[softmax_xent]") {
    const auto configurations = HWY_DYNAMIC_DISPATCH(SoftmaxCrossEntropyKernels)();
    for (std::size_t c = 0; c < configurations.count; ++c) {
        const std::size_t units = configurations.entries[c].shape.units;
        for (const std::size_t rows : kRowCounts) {
            INFO("Units " << units << ", rows " << rows);
            const XentProblem problem = MakeProblem(units, rows, 3.0, static_cast<std::uint32_t>(5000 * c + rows));
            ForEachTargetTable([] { return HWY_DYNAMIC_DISPATCH(SoftmaxCrossEntropyKernels)(); },
                               [&](const auto& kernels) {
                                   CheckAgainstReference(kernels.entries[c].run, problem,
                                                         1.0f / static_cast<float>(rows));
                               });
        }
    }
}

TEST_CASE("SoftmaxCrossEntropy is stable for logits of magnitude 1e4", "[softmax_xent]") {
    const auto configurations = HWY_DYNAMIC_DISPATCH(SoftmaxCrossEntropyKernels)();
    constexpr double kMagnitude = 1e4;
    for (std::size_t c = 0; c < configurations.count; ++c) {
        const std::size_t units = configurations.entries[c].shape.units;
        INFO("Units " << units);
        constexpr std::size_t kRows = 32;
        XentProblem problem = MakeProblem(units, kRows, 1.0, static_cast<std::uint32_t>(6000 + c));
        std::mt19937 random(static_cast<std::uint32_t>(7000 + c));
        problem.logits = RandomUniform(random, problem.logits.size(), kMagnitude);
        ForEachTargetTable([] { return HWY_DYNAMIC_DISPATCH(SoftmaxCrossEntropyKernels)(); },
                           [&](const auto& kernels) {
                               const auto run = kernels.entries[c].run;
                               const XentResult result = RunXent(run, problem, 1.0f / kRows, true);
                               CHECK(std::isfinite(result.loss));
                               CHECK(std::all_of(result.gradient.begin(), result.gradient.end(),
                                                 [](float v) { return std::isfinite(v); }));
                               CheckAgainstReference(run, problem, 1.0f / kRows);
                           });
    }
}

TEST_CASE("SoftmaxCrossEntropy's gradient agrees with finite differences of the mean loss on every target",
          "[softmax_xent]") {
    // The mean loss as the kernel computes it (float softmax, double sum): its gradient is dlogits with
    // grad_scale = 1 / rows. Logits are floats, so the step actually taken is measured from the rounded values.
    // The kernel's loss carries ~Units u of rounding per row, which the difference quotient divides by 2 h;
    // truncation is O(h^2). Tolerance 1e-4 + 1e-3 |fd|.
    constexpr double kStep = 1.0 / 64;
    const auto configurations = HWY_DYNAMIC_DISPATCH(SoftmaxCrossEntropyKernels)();
    for (std::size_t c = 0; c < configurations.count; ++c) {
        const std::size_t units = configurations.entries[c].shape.units;
        constexpr std::size_t kRows = 3;
        INFO("Units " << units << ", rows " << kRows);
        const XentProblem problem = MakeProblem(units, kRows, 2.0, static_cast<std::uint32_t>(8000 + c));
        ForEachTargetTable(
            [] { return HWY_DYNAMIC_DISPATCH(SoftmaxCrossEntropyKernels)(); },
            [&](const auto& kernels) {
                const auto run = kernels.entries[c].run;
                const auto mean_loss = [&](const XentProblem& perturbed) {
                    return RunXent(run, perturbed, 1.0f, false).loss / kRows;
                };
                const std::vector<float> gradient = RunXent(run, problem, 1.0f / kRows, true).gradient;
                std::vector<double> fd(problem.logits.size());
                for (std::size_t i = 0; i < fd.size(); ++i) {
                    XentProblem above = problem, below = problem;
                    above.logits[i] = static_cast<float>(problem.logits[i] + kStep);
                    below.logits[i] = static_cast<float>(problem.logits[i] - kStep);
                    fd[i] = (mean_loss(above) - mean_loss(below)) /
                            (static_cast<double>(above.logits[i]) - static_cast<double>(below.logits[i]));
                }
                CheckWithin(
                    "dlogits", fd.size(), [&](std::size_t i) { return gradient[i]; },
                    [&](std::size_t i) { return fd[i]; }, [&](std::size_t i) { return 1e-4 + 1e-3 * std::abs(fd[i]); });
            });
    }
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
