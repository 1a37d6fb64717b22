// Shared by the loss kernel tests (binary and categorical cross-entropy, mean absolute error, Huber): a problem
// (predictions or logits with their targets), a run of a kernel on guarded copies of it, the per-target tables the
// test TUs export, and central finite differences of a double-precision reference loss.
//
// RunGuarded(problem, with_gradient, call): calls call(predictions, targets, gradient or nullptr, &loss, &metric)
//   on copies whose last element ends where an inaccessible page begins (GuardedArray), with the totals starting
//   at nonzero values; returns what the kernel added to them and its gradient (NaN where unwritten).
// FiniteDifferences(values, loss, step): d loss / d values[i] by (loss(v + step e_i) - loss(v - step e_i)) / 2 step,
//   all in double: the check of a kernel's gradient against the loss it is the gradient of, not against its own
//   float loss (whose rounding a difference quotient would magnify).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "tests/runtime/dense_kernels/dense_test_support.hpp"

namespace nnfuse::test {

struct LossProblem {
    std::size_t outputs, rows;
    std::vector<float> predictions, targets;  // [rows, outputs] each
};

struct LossResult {
    double loss, metric;  // what the kernel added to the running totals
    std::vector<float> gradient;
};

inline constexpr double kInitialLoss = 0.25, kInitialMetric = 1.5;

template <class Call>
LossResult RunGuarded(const LossProblem& p, bool with_gradient, const Call& call) {
    const auto predictions = GuardedArray<float>::CopyOf(p.predictions);
    const auto targets = GuardedArray<float>::CopyOf(p.targets);
    GuardedArray<float> gradient(p.predictions.size(), kUnwritten);
    double loss = kInitialLoss, metric = kInitialMetric;
    call(predictions.data(), targets.data(), with_gradient ? gradient.data() : nullptr, &loss, &metric);
    return {loss - kInitialLoss, metric - kInitialMetric, gradient.ToVector()};
}

inline std::vector<double> FiniteDifferences(const std::vector<double>& values,
                                             const std::function<double(const std::vector<double>&)>& loss,
                                             double step) {
    std::vector<double> derivatives(values.size());
    std::vector<double> shifted = values;
    for (std::size_t i = 0; i < values.size(); ++i) {
        shifted[i] = values[i] + step;
        const double above = loss(shifted);
        shifted[i] = values[i] - step;
        const double below = loss(shifted);
        shifted[i] = values[i];
        derivatives[i] = (above - below) / (2 * step);
    }
    return derivatives;
}

// A kernel instantiated for one output count, in one target's namespace; Fn is the kernel's own signature.
template <class Fn>
struct LossEntry {
    std::size_t outputs;
    Fn run;
};

template <class Fn>
struct LossTable {
    std::int64_t target;  // HWY_TARGET of the code the entries point to
    const LossEntry<Fn>* entries;
    std::size_t count;
};

// Row counts below, at and above a vector of every x86 target, and odd: rows * outputs is rarely a multiple of the
// vector width, so the flat kernels' last partial vector is exercised.
inline constexpr std::size_t kLossTestRows[] = {1, 2, 3, 5, 32, 257};

}  // namespace nnfuse::test
