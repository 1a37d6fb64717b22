// DenseBackward on every compiled SIMD target: against a double-precision reference (dz, dkernel, dbias, dx, with
// and without dx), and against central finite differences of f = sum(g * dense(x)) with respect to x, kernel and
// bias.
//
// Reference tolerances, with u float's unit roundoff:
//   dz = g Act'(z):  8 u |g| (|Act'(z)| + |y| + 1). The kernel takes Act' from the float output y, which carries
//                    its own rounding (|y| u) into Act'(y); the +1 covers forms such as y + 1 or 1 - y^2.
//   dkernel, dbias, dx (sums of n products): sum |coefficient| * tol(dz) + (n + 2) u sum |terms|, the
//                    propagated dz error plus the first-order bound of a chain of n fused multiply-adds.
// Finite differences are taken in double with h = 1e-5 on the double reference of the forward function, so their
// own error (O(h^2) truncation, ~1e-10 rounding, <= h |g| / 4 at elu's kink) is far below the kernels' float error;
// tolerance 2e-5 (1 + |fd|).

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/dense_kernels/test_dense_backward.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/dense-inl.h"
#include "tests/runtime/dense_kernels/dense_test_support.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

template <std::size_t In, std::size_t Units, activation_kind Act, bool UseBias>
constexpr KernelEntry<DenseBackwardFn> Backward() {
    return {{In, Units, Act, UseBias}, &kernels::HWY_NAMESPACE::DenseBackward<In, Units, Act, UseBias>};
}

KernelTable<DenseBackwardFn> DenseBackwardKernels() {
    using enum activation_kind;
    // One shape per line.
    // clang-format off
    static const KernelEntry<DenseBackwardFn> entries[] = {
        // Every shape (see test_dense_forward.cpp). (5, 300) and (130, 130) also split the units into several
        // chunks of the stack tile (dx, and dkernel computed along In) on AVX-512 and AVX2.
        Backward<784, 20, linear, false>(), Backward<784, 20, elu, true>(),
        Backward<130, 130, linear, false>(), Backward<130, 130, elu, true>(),
        Backward<20, 10, linear, false>(),  Backward<20, 10, elu, true>(),
        Backward<7, 1, linear, false>(),    Backward<7, 1, elu, true>(),
        Backward<37, 17, linear, false>(),  Backward<37, 17, elu, true>(),
        Backward<16, 16, linear, false>(),  Backward<16, 16, elu, true>(),
        Backward<3, 33, linear, false>(),   Backward<3, 33, elu, true>(),
        Backward<5, 300, linear, false>(),  Backward<5, 300, elu, true>(),
        // The other activations.
        Backward<37, 17, relu, true>(), Backward<37, 17, selu, true>(), Backward<37, 17, sigmoid, true>(),
        Backward<37, 17, tanh, true>(),
        Backward<20, 10, relu, false>(), Backward<20, 10, selu, true>(), Backward<20, 10, sigmoid, true>(),
        Backward<20, 10, tanh, true>(),
    };
    // clang-format on
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse::test {
namespace {

HWY_EXPORT(DenseBackwardKernels);

constexpr std::size_t kRowCounts[] = {1, 2, 3, 32, 257};

std::size_t FindBackward(const DenseShape& wanted) {
    const auto kernels = HWY_DYNAMIC_DISPATCH(DenseBackwardKernels)();
    for (std::size_t c = 0; c < kernels.count; ++c) {
        const DenseShape& shape = kernels.entries[c].shape;
        if (shape.in == wanted.in && shape.units == wanted.units && shape.act == wanted.act &&
            shape.use_bias == wanted.use_bias) {
            return c;
        }
    }
    throw std::logic_error("backward kernel not instantiated for " + Describe(wanted, 0));
}

// One layer's inputs: x, kernel, bias, the forward output y as the kernel receives it (float), the upstream
// gradient g, and the pre-activations z in double.
struct BackwardProblem {
    DenseShape shape;
    std::size_t rows;
    std::vector<float> x, kernel, bias, y, g;
    std::vector<double> z;
};

BackwardProblem MakeProblem(const DenseShape& shape, std::size_t rows, std::uint32_t seed) {
    std::mt19937 random(seed);
    BackwardProblem problem{shape, rows, {}, {}, {}, {}, {}, {}};
    problem.x = RandomUniform(random, rows * shape.in, 1.0);
    problem.kernel =
        RandomUniform(random, shape.in * shape.units, std::sqrt(6.0 / static_cast<double>(shape.in + shape.units)));
    problem.bias = RandomUniform(random, shape.units, 0.5);
    problem.g = RandomUniform(random, rows * shape.units, 1.0);
    problem.z =
        ComputePreActivations(shape, rows, ToDouble(problem.x), ToDouble(problem.kernel), ToDouble(problem.bias)).z;
    const std::vector<double> y = ApplyActivation(shape, rows, problem.z);
    problem.y.assign(y.begin(), y.end());  // rounded to float, as a float forward pass would store it
    return problem;
}

// The kernel's outputs for one problem on the current target. Outputs start as NaN, so an unwritten one fails.
struct BackwardResult {
    std::vector<float> dz, dkernel, dbias, dx;
};

BackwardResult RunBackward(DenseBackwardFn run, const BackwardProblem& problem, bool with_dx) {
    const DenseShape& shape = problem.shape;
    const auto x = GuardedArray<float>::CopyOf(problem.x);
    const auto kernel = GuardedArray<float>::CopyOf(problem.kernel);
    const auto y = GuardedArray<float>::CopyOf(problem.y);
    auto dy = GuardedArray<float>::CopyOf(problem.g);
    GuardedArray<float> dkernel(shape.in * shape.units, kUnwritten), dbias(shape.units, kUnwritten);
    GuardedArray<float> dx(problem.rows * shape.in, kUnwritten);
    // A linear layer passes no output: the contract allows nullptr, and the kernel must not need it.
    run(x.data(), shape.act == activation_kind::linear ? nullptr : y.data(), dy.data(), problem.rows, kernel.data(),
        dkernel.data(), shape.use_bias ? dbias.data() : nullptr, with_dx ? dx.data() : nullptr);
    return {dy.ToVector(), dkernel.ToVector(), dbias.ToVector(), dx.ToVector()};
}

TEST_CASE("DenseBackward matches a double-precision reference on every target", "[dense][backward]") {
    const auto configurations = HWY_DYNAMIC_DISPATCH(DenseBackwardKernels)();
    const double u = kUnitRoundoff;
    for (std::size_t c = 0; c < configurations.count; ++c) {
        const DenseShape shape = configurations.entries[c].shape;
        const std::size_t in = shape.in, units = shape.units;
        for (const std::size_t rows : kRowCounts) {
            INFO(Describe(shape, rows));
            const BackwardProblem problem = MakeProblem(shape, rows, static_cast<std::uint32_t>(2000 * c + rows));

            std::vector<double> dz(rows * units), dz_tolerance(rows * units);
            for (std::size_t i = 0; i < dz.size(); ++i) {
                const double derivative = DerivativeReference(shape.act, problem.z[i]);
                dz[i] = problem.g[i] * derivative;
                dz_tolerance[i] = 8 * u * std::abs(problem.g[i]) * (std::abs(derivative) + std::abs(problem.y[i]) + 1);
            }
            // A sum of n products a_i b_i whose b_i carry the dz error.
            struct Sum {
                double value = 0, magnitude = 0, propagated = 0;
                void Add(double a, double b, double b_tolerance) {
                    value += a * b, magnitude += std::abs(a * b), propagated += std::abs(a) * b_tolerance;
                }
                double Tolerance(std::size_t n) const {
                    return propagated + static_cast<double>(n + 2) * kUnitRoundoff * magnitude + kSmallestNormal;
                }
            };
            std::vector<Sum> dkernel(in * units), dbias(units), dx(rows * in);
            for (std::size_t r = 0; r < rows; ++r) {
                for (std::size_t un = 0; un < units; ++un) {
                    const std::size_t i = r * units + un;
                    dbias[un].Add(1.0, dz[i], dz_tolerance[i]);
                    for (std::size_t k = 0; k < in; ++k) {
                        dkernel[k * units + un].Add(problem.x[r * in + k], dz[i], dz_tolerance[i]);
                        dx[r * in + k].Add(problem.kernel[k * units + un], dz[i], dz_tolerance[i]);
                    }
                }
            }

            ForEachTargetTable(
                [] { return HWY_DYNAMIC_DISPATCH(DenseBackwardKernels)(); },
                [&](const auto& kernels) {
                    for (const bool with_dx : {true, false}) {
                        INFO((with_dx ? "with dx" : "dx == nullptr"));
                        const BackwardResult result = RunBackward(kernels.entries[c].run, problem, with_dx);
                        CheckWithin(
                            "dz (in dy)", dz.size(), [&](std::size_t i) { return result.dz[i]; },
                            [&](std::size_t i) { return dz[i]; }, [&](std::size_t i) { return dz_tolerance[i]; });
                        CheckWithin(
                            "dkernel", dkernel.size(), [&](std::size_t i) { return result.dkernel[i]; },
                            [&](std::size_t i) { return dkernel[i].value; },
                            [&](std::size_t i) { return dkernel[i].Tolerance(rows); });
                        if (shape.use_bias) {
                            CheckWithin(
                                "dbias", dbias.size(), [&](std::size_t i) { return result.dbias[i]; },
                                [&](std::size_t i) { return dbias[i].value; },
                                [&](std::size_t i) { return dbias[i].Tolerance(rows); });
                        } else {
                            CHECK(std::all_of(result.dbias.begin(), result.dbias.end(),
                                              [](float v) { return std::isnan(v); }));
                        }
                        if (with_dx) {
                            CheckWithin(
                                "dx", dx.size(), [&](std::size_t i) { return result.dx[i]; },
                                [&](std::size_t i) { return dx[i].value; },
                                [&](std::size_t i) { return dx[i].Tolerance(units); });
                        }
                    }
                });
        }
    }
}

// f(x, kernel, bias) = sum over outputs of g * Act(x . kernel + bias), in double.
double Objective(const BackwardProblem& problem, const std::vector<double>& x, const std::vector<double>& kernel,
                 const std::vector<double>& bias) {
    const std::vector<double> z = ComputePreActivations(problem.shape, problem.rows, x, kernel, bias).z;
    const std::vector<double> y = ApplyActivation(problem.shape, problem.rows, z);
    double sum = 0;
    for (std::size_t i = 0; i < y.size(); ++i) sum += problem.g[i] * y[i];
    return sum;
}

// Central difference of the objective with respect to parameter `index` of `which` (one of x, kernel, bias).
double CentralDifference(const BackwardProblem& problem, int which, std::size_t index) {
    constexpr double kStep = 1e-5;
    std::vector<double> parameters[3] = {ToDouble(problem.x), ToDouble(problem.kernel), ToDouble(problem.bias)};
    const double original = parameters[which][index];
    parameters[which][index] = original + kStep;
    const double above = Objective(problem, parameters[0], parameters[1], parameters[2]);
    parameters[which][index] = original - kStep;
    const double below = Objective(problem, parameters[0], parameters[1], parameters[2]);
    return (above - below) / (2 * kStep);
}

// Up to `count` distinct indices below `size`, drawn at random (all of them when size <= count).
std::vector<std::size_t> SampleIndices(std::mt19937& random, std::size_t size, std::size_t count) {
    std::vector<std::size_t> indices(size);
    for (std::size_t i = 0; i < size; ++i) indices[i] = i;
    std::shuffle(indices.begin(), indices.end(), random);
    indices.resize(std::min(size, count));
    return indices;
}

TEST_CASE("DenseBackward agrees with finite differences of sum(g * dense(x)) on every target", "[dense][backward]") {
    using enum activation_kind;
    const std::pair<DenseShape, std::size_t> cases[] = {
        {{37, 17, elu, true}, 3},    {{37, 17, tanh, true}, 3}, {{37, 17, sigmoid, true}, 2},
        {{20, 10, tanh, true}, 3},   {{784, 20, elu, true}, 2}, {{7, 1, elu, true}, 3},
        {{3, 33, linear, false}, 2}, {{5, 300, elu, true}, 2},  {{130, 130, elu, true}, 2},
    };
    constexpr std::size_t kSamplesPerArray = 24;
    for (const auto& [shape, rows] : cases) {
        INFO(Describe(shape, rows));
        const std::size_t c = FindBackward(shape);
        const BackwardProblem problem = MakeProblem(shape, rows, static_cast<std::uint32_t>(3000 + c));
        std::mt19937 random(static_cast<std::uint32_t>(4000 + c));
        const auto x_samples = SampleIndices(random, problem.x.size(), kSamplesPerArray);
        const auto kernel_samples = SampleIndices(random, problem.kernel.size(), kSamplesPerArray);
        const auto bias_samples = SampleIndices(random, shape.use_bias ? shape.units : 0, kSamplesPerArray);
        std::vector<double> x_fd, kernel_fd, bias_fd;
        for (const std::size_t i : x_samples) x_fd.push_back(CentralDifference(problem, 0, i));
        for (const std::size_t i : kernel_samples) kernel_fd.push_back(CentralDifference(problem, 1, i));
        for (const std::size_t i : bias_samples) bias_fd.push_back(CentralDifference(problem, 2, i));
        const auto tolerance = [](const std::vector<double>& fd) {
            return [&fd](std::size_t i) { return 2e-5 * (1 + std::abs(fd[i])); };
        };

        ForEachTargetTable(
            [] { return HWY_DYNAMIC_DISPATCH(DenseBackwardKernels)(); },
            [&](const auto& kernels) {
                const BackwardResult result = RunBackward(kernels.entries[c].run, problem, true);
                CheckWithin(
                    "dx", x_samples.size(), [&](std::size_t i) { return result.dx[x_samples[i]]; },
                    [&](std::size_t i) { return x_fd[i]; }, tolerance(x_fd));
                CheckWithin(
                    "dkernel", kernel_samples.size(), [&](std::size_t i) { return result.dkernel[kernel_samples[i]]; },
                    [&](std::size_t i) { return kernel_fd[i]; }, tolerance(kernel_fd));
                CheckWithin(
                    "dbias", bias_samples.size(), [&](std::size_t i) { return result.dbias[bias_samples[i]]; },
                    [&](std::size_t i) { return bias_fd[i]; }, tolerance(bias_fd));
            });
    }
}

TEST_CASE("DenseBackward with no rows gives zero parameter gradients", "[dense][backward]") {
    const auto configurations = HWY_DYNAMIC_DISPATCH(DenseBackwardKernels)();
    for (std::size_t c = 0; c < configurations.count; ++c) {
        const DenseShape shape = configurations.entries[c].shape;
        INFO(Describe(shape, 0));
        const GuardedArray<float> kernel(shape.in * shape.units, 1.0f);
        ForEachTargetTable(
            [] { return HWY_DYNAMIC_DISPATCH(DenseBackwardKernels)(); },
            [&](const auto& kernels) {
                // Empty arrays point at their guard page: any access crashes.
                const GuardedArray<float> x(0), y(0);
                GuardedArray<float> dy(0), dx(0);
                GuardedArray<float> dkernel(shape.in * shape.units, kUnwritten), dbias(shape.units, kUnwritten);
                kernels.entries[c].run(x.data(), y.data(), dy.data(), 0, kernel.data(), dkernel.data(),
                                       shape.use_bias ? dbias.data() : nullptr, dx.data());
                CHECK(std::all_of(dkernel.data(), dkernel.data() + dkernel.size(), [](float v) { return v == 0.0f; }));
                if (shape.use_bias) {
                    CHECK(std::all_of(dbias.data(), dbias.data() + dbias.size(), [](float v) { return v == 0.0f; }));
                }
            });
    }
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
