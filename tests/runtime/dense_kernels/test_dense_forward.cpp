// DenseForward on every compiled SIMD target against a double-precision reference: every element-wise activation,
// shapes below, at and above the vector width and odd ones, batch sizes 1, 2, 3, 32, 257 (257 and 3 are not
// multiples of any row block). DenseForwardTransposedKernel likewise, and bit for bit against DenseForward where that
// computes along the inputs too (128 to 4096 inputs). The partial sums of long dot products: with inputs far from
// zero, the error against the double reference is well below that of one running sum. Also predict's softmax
// (nnfuse::softmax_rows, runtime/train/softmax.hpp), the one softmax outside the loss, at the same shapes.
//
// Tolerance of y (element-wise activations): L (n + 2) u M + 16 u |y|, where M = sum |x_k w_k| + |b| and
// n = In: the first-order bound of a chain of n fused multiply-adds (Higham, gamma_n), grown by the activation's
// Lipschitz constant L, plus 8 ulp for the activation itself. Softmax of float logits: 2 u per exponent (|z - max| u
// from the subtraction) and (Units + 8) u for the sum and the division, relative to p.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/dense_kernels/test_dense_forward.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/dense-inl.h"
#include "runtime/train/softmax.hpp"
#include "tests/runtime/dense_kernels/dense_test_support.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

template <std::size_t In, std::size_t Units, activation_kind Act, bool UseBias>
constexpr KernelEntry<DenseForwardFn> Forward() {
    return {{In, Units, Act, UseBias}, &kernels::HWY_NAMESPACE::DenseForward<In, Units, Act, UseBias>};
}

KernelTable<DenseForwardFn> DenseForwardKernels() {
    using enum activation_kind;
    // One shape per line.
    // clang-format off
    static const KernelEntry<DenseForwardFn> entries[] = {
        // Every shape: the reference model's two layers, odd sizes, exactly one AVX-512 vector, and (5, 300),
        // whose Units span several full column blocks on every target.
        Forward<784, 20, linear, false>(), Forward<784, 20, elu, true>(), Forward<784, 20, linear, true>(),
        Forward<20, 10, linear, false>(),  Forward<20, 10, elu, true>(),  Forward<20, 10, linear, true>(),
        Forward<7, 1, linear, false>(),    Forward<7, 1, elu, true>(),    Forward<7, 1, linear, true>(),
        Forward<37, 17, linear, false>(),  Forward<37, 17, elu, true>(),  Forward<37, 17, linear, true>(),
        Forward<16, 16, linear, false>(),  Forward<16, 16, elu, true>(),  Forward<16, 16, linear, true>(),
        Forward<3, 33, linear, false>(),   Forward<3, 33, elu, true>(),   Forward<3, 33, linear, true>(),
        Forward<5, 300, linear, false>(),  Forward<5, 300, elu, true>(),  Forward<5, 300, linear, true>(),
        // AVX-512's narrow-tail path (dense_forward_narrow_tail-inl.h) with In not a multiple of 16: 16 + 4 units,
        // and 3 units alone (no head vector, a tail of fewer than 4).
        Forward<100, 20, linear, false>(), Forward<100, 20, elu, true>(), Forward<70, 3, linear, true>(),
        // The other activations at an odd shape and at the reference model's output layer.
        Forward<37, 17, relu, true>(), Forward<37, 17, selu, true>(), Forward<37, 17, sigmoid, true>(),
        Forward<37, 17, tanh, true>(),
        Forward<20, 10, relu, false>(), Forward<20, 10, selu, true>(), Forward<20, 10, sigmoid, true>(),
        Forward<20, 10, tanh, false>(),
    };
    // clang-format on
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

template <std::size_t In, std::size_t Units, activation_kind Act, bool UseBias>
constexpr KernelEntry<DenseForwardFn> ForwardTransposed() {
    return {{In, Units, Act, UseBias}, &kernels::HWY_NAMESPACE::DenseForwardTransposedKernel<In, Units, Act, UseBias>};
}

// The transposed-kernel forward; DenseForwardTwins has DenseForward at the same shapes, at the same indices.
KernelTable<DenseForwardFn> DenseForwardTransposedKernels() {
    using enum activation_kind;
    // clang-format off
    static const KernelEntry<DenseForwardFn> entries[] = {
        // The reference model's first layer; In = 130 (a partial last vector on every target), 3 units (one partial
        // group), 17 units; 3136 x 10, the convolutional sample's head; 7 x 1 and 37 x 17, where DenseForward
        // broadcasts instead.
        ForwardTransposed<784, 20, elu, true>(), ForwardTransposed<784, 20, linear, false>(),
        ForwardTransposed<130, 3, linear, true>(), ForwardTransposed<129, 17, tanh, true>(),
        ForwardTransposed<3136, 10, linear, true>(), ForwardTransposed<7, 1, linear, false>(),
        ForwardTransposed<37, 17, elu, true>(),
    };
    // clang-format on
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

// DenseForward at the shape, where it computes along the inputs on this target; otherwise no function.
template <std::size_t In, std::size_t Units, activation_kind Act, bool UseBias>
constexpr KernelEntry<DenseForwardFn> TwinAlongInputs() {
    return {{In, Units, Act, UseBias},
            kernels::HWY_NAMESPACE::dense_detail::kForwardAlongInputs<In, Units>
                ? &kernels::HWY_NAMESPACE::DenseForward<In, Units, Act, UseBias>
                : nullptr};
}

KernelTable<DenseForwardFn> DenseForwardTwins() {
    using enum activation_kind;
    // clang-format off
    static const KernelEntry<DenseForwardFn> twins[] = {
        TwinAlongInputs<784, 20, elu, true>(), TwinAlongInputs<784, 20, linear, false>(),
        TwinAlongInputs<130, 3, linear, true>(), TwinAlongInputs<129, 17, tanh, true>(),
        TwinAlongInputs<3136, 10, linear, true>(), TwinAlongInputs<7, 1, linear, false>(),
        TwinAlongInputs<37, 17, elu, true>(),
    };
    // clang-format on
    return {HWY_TARGET, twins, sizeof(twins) / sizeof(twins[0])};
}

// The partial sums at 784 inputs: 20 units (along the inputs on AVX-512, broadcast elsewhere) and 32 (broadcast with
// depth blocks on every target), each through DenseForward and DenseForwardTransposedKernel.
KernelTable<DenseForwardFn> PartialSumKernels() {
    using enum activation_kind;
    static const KernelEntry<DenseForwardFn> entries[] = {
        Forward<784, 20, linear, false>(),
        ForwardTransposed<784, 20, linear, false>(),
        Forward<784, 32, linear, false>(),
        ForwardTransposed<784, 32, linear, false>(),
    };
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse::test {
namespace {

HWY_EXPORT(DenseForwardKernels);

constexpr std::size_t kRowCounts[] = {1, 2, 3, 32, 257};

// Glorot-uniform weights and inputs in [-1, 1] put pre-activations on both sides of every activation's bend.
double GlorotBound(const DenseShape& shape) { return std::sqrt(6.0 / static_cast<double>(shape.in + shape.units)); }

// Tolerance of each output, from the error bound stated at the top of this file.
std::vector<double> ForwardTolerance(const DenseShape& shape, std::size_t rows, const PreActivations& pre,
                                     const std::vector<double>& y) {
    const double u = kUnitRoundoff;
    const auto dot_length = static_cast<double>(shape.in + 2);
    std::vector<double> tolerance(y.size());
    if (shape.act != activation_kind::softmax) {
        const double lipschitz = LipschitzConstant(shape.act);
        for (std::size_t i = 0; i < y.size(); ++i) {
            tolerance[i] = lipschitz * dot_length * u * pre.magnitude[i] + 16 * u * std::abs(y[i]) + kSmallestNormal;
        }
        return tolerance;
    }
    for (std::size_t r = 0; r < rows; ++r) {
        const std::size_t first = r * shape.units, last = first + shape.units;
        const double max = *std::max_element(pre.z.begin() + first, pre.z.begin() + last);
        for (std::size_t i = first; i < last; ++i) {
            const double relative = 2 * u * (std::abs(pre.z[i] - max) + 1) + (static_cast<double>(shape.units) + 8) * u;
            tolerance[i] = y[i] * relative + kSmallestNormal;
        }
    }
    return tolerance;
}

// One forward test's inputs (inputs in [-1, 1], Glorot-uniform weights, bias in [-0.5, 0.5]), the double
// reference output and its tolerance.
struct ForwardProblem {
    std::vector<float> x, kernel, bias;
    std::vector<double> expected, tolerance;

    ForwardProblem(const DenseShape& shape, std::size_t rows, std::uint32_t seed) {
        std::mt19937 random(seed);
        x = RandomUniform(random, rows * shape.in, 1.0);
        kernel = RandomUniform(random, shape.in * shape.units, GlorotBound(shape));
        bias = RandomUniform(random, shape.units, 0.5);
        const PreActivations pre = ComputePreActivations(shape, rows, ToDouble(x), ToDouble(kernel), ToDouble(bias));
        expected = ApplyActivation(shape, rows, pre.z);
        tolerance = ForwardTolerance(shape, rows, pre, expected);
    }
};

TEST_CASE("DenseForward matches a double-precision reference on every target", "[dense][forward]") {
    const auto configurations = HWY_DYNAMIC_DISPATCH(DenseForwardKernels)();
    for (std::size_t c = 0; c < configurations.count; ++c) {
        const DenseShape shape = configurations.entries[c].shape;
        for (const std::size_t rows : kRowCounts) {
            INFO(Describe(shape, rows));
            const ForwardProblem problem(shape, rows, static_cast<std::uint32_t>(1000 * c + rows));
            const auto& [x, kernel, bias, expected, tolerance] = problem;

            const auto guarded_x = GuardedArray<float>::CopyOf(x);
            const auto guarded_kernel = GuardedArray<float>::CopyOf(kernel);
            const auto guarded_bias = GuardedArray<float>::CopyOf(bias);
            ForEachTargetTable([] { return HWY_DYNAMIC_DISPATCH(DenseForwardKernels)(); },
                               [&](const auto& kernels) {
                                   GuardedArray<float> y(rows * shape.units, kUnwritten);
                                   kernels.entries[c].run(guarded_x.data(), rows, guarded_kernel.data(),
                                                          shape.use_bias ? guarded_bias.data() : nullptr, y.data());
                                   CheckWithin(
                                       "y", y.size(), [&](std::size_t i) { return y[i]; },
                                       [&](std::size_t i) { return expected[i]; },
                                       [&](std::size_t i) { return tolerance[i]; });
                               });
        }
    }
}

TEST_CASE("DenseForward with no rows touches nothing", "[dense][forward]") {
    const auto configurations = HWY_DYNAMIC_DISPATCH(DenseForwardKernels)();
    for (std::size_t c = 0; c < configurations.count; ++c) {
        const DenseShape shape = configurations.entries[c].shape;
        INFO(Describe(shape, 0));
        const GuardedArray<float> kernel(shape.in * shape.units, 1.0f), bias(shape.units, 1.0f);
        ForEachTargetTable([] { return HWY_DYNAMIC_DISPATCH(DenseForwardKernels)(); },
                           [&](const auto& kernels) {
                               // Empty arrays point at their guard page: any access crashes.
                               const GuardedArray<float> x(0);
                               GuardedArray<float> y(0);
                               kernels.entries[c].run(x.data(), 0, kernel.data(), bias.data(), y.data());
                               SUCCEED();
                           });
    }
}

HWY_EXPORT(DenseForwardTransposedKernels);
HWY_EXPORT(DenseForwardTwins);
HWY_EXPORT(PartialSumKernels);

std::vector<float> Transposed(const std::vector<float>& kernel, std::size_t in, std::size_t units) {
    std::vector<float> kernel_t(kernel.size());
    for (std::size_t k = 0; k < in; ++k) {
        for (std::size_t u = 0; u < units; ++u) kernel_t[u * in + k] = kernel[k * units + u];
    }
    return kernel_t;
}

TEST_CASE("DenseForwardTransposedKernel matches the double reference, and DenseForward's bits along the inputs",
          "[dense][forward]") {
    const auto configurations = HWY_DYNAMIC_DISPATCH(DenseForwardTransposedKernels)();
    for (std::size_t c = 0; c < configurations.count; ++c) {
        const DenseShape shape = configurations.entries[c].shape;
        for (const std::size_t rows : kRowCounts) {
            INFO(Describe(shape, rows));
            const ForwardProblem problem(shape, rows, static_cast<std::uint32_t>(777 * c + rows));
            const auto& [x, kernel, bias, expected, tolerance] = problem;
            const auto guarded_x = GuardedArray<float>::CopyOf(x);
            const auto guarded_kernel = GuardedArray<float>::CopyOf(kernel);
            const auto guarded_kernel_t = GuardedArray<float>::CopyOf(Transposed(kernel, shape.in, shape.units));
            const auto guarded_bias = GuardedArray<float>::CopyOf(bias);
            const float* bias_or_null = shape.use_bias ? guarded_bias.data() : nullptr;
            ForEachTargetTable(
                [] { return HWY_DYNAMIC_DISPATCH(DenseForwardTransposedKernels)(); },
                [&](const auto& kernels) {
                    GuardedArray<float> y(rows * shape.units, kUnwritten);
                    kernels.entries[c].run(guarded_x.data(), rows, guarded_kernel_t.data(), bias_or_null, y.data());
                    CheckWithin(
                        "y", y.size(), [&](std::size_t i) { return y[i]; }, [&](std::size_t i) { return expected[i]; },
                        [&](std::size_t i) { return tolerance[i]; });
                    // The twin of this target (the dispatch table points at it now), if any.
                    const DenseForwardFn twin = HWY_DYNAMIC_DISPATCH(DenseForwardTwins)().entries[c].run;
                    if (twin == nullptr) return;
                    GuardedArray<float> twin_y(rows * shape.units, kUnwritten);
                    twin(guarded_x.data(), rows, guarded_kernel.data(), bias_or_null, twin_y.data());
                    std::size_t differ = 0;
                    for (std::size_t i = 0; i < y.size(); ++i) {
                        differ += std::memcmp(&y[i], &twin_y[i], sizeof(float)) != 0;
                    }
                    CHECK(differ == 0);
                });
        }
    }
}

// Inputs 8 + [-1, 1] (as unnormalized pixels or a bias carried through a layer): every running sum grows with the
// offset, and so does its rounding. One float running sum over the 784 inputs is the baseline, computed here with
// std::fma in input order. The kernels' partial sums (one per lane, or blocks of 128 inputs) should leave a
// root-mean-square error well below the baseline's (about 1 / sqrt(partial sums) of it).
TEST_CASE("Long dot products keep partial sums: inputs with an offset lose less than one running sum",
          "[dense][forward][precision]") {
    constexpr std::size_t in = 784, rows = 64;
    const auto configurations = HWY_DYNAMIC_DISPATCH(PartialSumKernels)();
    for (std::size_t c = 0; c < configurations.count; c += 2) {
        const std::size_t units = configurations.entries[c].shape.units;
        std::mt19937 random(static_cast<std::uint32_t>(2026 + units));
        auto x = RandomUniform(random, rows * in, 1.0);
        for (float& value : x) value += 8.0f;
        const auto kernel = RandomUniform(random, in * units, GlorotBound({in, units, activation_kind::linear, false}));
        const auto kernel_t = Transposed(kernel, in, units);
        std::vector<double> exact(rows * units);
        double baseline_squares = 0.0;
        for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t u = 0; u < units; ++u) {
                double sum = 0.0;
                float running = 0.0f;
                for (std::size_t k = 0; k < in; ++k) {
                    sum += static_cast<double>(x[r * in + k]) * kernel[k * units + u];
                    running = std::fma(x[r * in + k], kernel[k * units + u], running);
                }
                exact[r * units + u] = sum;
                baseline_squares += (running - sum) * (running - sum);
            }
        }
        REQUIRE(baseline_squares > 0.0);
        const auto rms_ratio = [&](const std::vector<float>& y) {
            double squares = 0.0;
            for (std::size_t i = 0; i < y.size(); ++i) squares += (y[i] - exact[i]) * (y[i] - exact[i]);
            return std::sqrt(squares / baseline_squares);
        };
        ForEachTargetTable([] { return HWY_DYNAMIC_DISPATCH(PartialSumKernels)(); },
                           [&](const auto& kernels) {
                               std::vector<float> y(rows * units), y_t(rows * units);
                               kernels.entries[c].run(x.data(), rows, kernel.data(), nullptr, y.data());
                               kernels.entries[c + 1].run(x.data(), rows, kernel_t.data(), nullptr, y_t.data());
                               const double ratio = rms_ratio(y), ratio_t = rms_ratio(y_t);
                               INFO("784 x " << units << ": error / one running sum's (root mean square): "
                                             << "DenseForward " << ratio << ", transposed kernel " << ratio_t);
                               CHECK(ratio < 0.75);
                               CHECK(ratio_t < 0.75);
                           });
    }
}

TEST_CASE("Predict's softmax_rows matches a double-precision reference", "[dense][forward][softmax]") {
    const std::size_t class_counts[] = {1, 3, 10, 16, 17, 33, 300};
    for (const std::size_t classes : class_counts) {
        const DenseShape shape{0, classes, activation_kind::softmax, false};
        for (const std::size_t rows : kRowCounts) {
            INFO(Describe(shape, rows));
            std::mt19937 random(static_cast<std::uint32_t>(100 * classes + rows));
            // Logits up to 30 in magnitude: exponents far below zero after the maximum is subtracted.
            const auto logits = RandomUniform(random, rows * classes, 30.0);
            PreActivations pre;
            pre.z = ToDouble(logits);
            pre.magnitude.assign(pre.z.size(), 0.0);  // the logits are exact: no error to propagate
            const std::vector<double> expected = ApplyActivation(shape, rows, pre.z);
            const std::vector<double> tolerance = ForwardTolerance(shape, rows, pre, expected);
            std::vector<float> probabilities(rows * classes, kUnwritten);
            softmax_rows(logits.data(), rows, classes, probabilities.data());
            CheckWithin(
                "p", probabilities.size(), [&](std::size_t i) { return probabilities[i]; },
                [&](std::size_t i) { return expected[i]; }, [&](std::size_t i) { return tolerance[i]; });
        }
    }
}

TEST_CASE("The kernels are compiled for more than one target", "[dense]") {
    // Guards against builds where foreach_target collapses to one target (HWY_COMPILE_ONLY_STATIC without -march):
    // then no SIMD code would be tested.
    INFO("targets: " << hwy::SupportedAndGeneratedTargets().size());
    CHECK(hwy::SupportedAndGeneratedTargets().size() >= 2);
}

TEST_CASE("The kernels are compiled for AVX-512 and AVX2 and SSSE3 and the scalar fallback but not SSE4", "[dense]") {
    // runtime/kernels/simd_targets.h chooses them; this TU includes it first, as every kernel TU does.
    constexpr std::int64_t wanted = HWY_AVX3 | HWY_AVX2 | HWY_SSSE3 | HWY_SCALAR;
    CHECK((HWY_TARGETS & wanted) == wanted);
    CHECK((HWY_TARGETS & HWY_SSE4) == 0);
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
