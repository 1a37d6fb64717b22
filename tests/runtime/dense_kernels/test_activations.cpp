// The activation building blocks (activation-inl.h) seen through the dense kernels, on every compiled SIMD target:
// Activate<kind> through DenseForward<1, 1> with kernel [1] (so y = Act(x) exactly), DerivativeFromOutput<kind>
// through DenseBackward<1, 1> with dy = 1 (so dy becomes Act'(y)), against std::exp / std::expm1 / std::tanh in
// double, at ordinary points and at large negative and positive inputs.
//
// Tolerances: Activate within 8 ulp of the double result rounded to float (Highway documents 1 ulp for Exp and
// 4 for Expm1 and Tanh; a quotient adds a few), or both below FLT_MIN in magnitude (flushing is allowed there).
// DerivativeFromOutput from y = float(Act(z)): 8 u (|Act'(z)| + |y| + 1), as y brings its own rounding.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/dense_kernels/test_activations.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/dense-inl.h"
#include "tests/runtime/dense_kernels/dense_test_support.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

template <activation_kind Act>
constexpr KernelEntry<DenseForwardFn> ScalarForward() {
    return {{1, 1, Act, false}, &kernels::HWY_NAMESPACE::DenseForward<1, 1, Act, false>};
}
template <activation_kind Act>
constexpr KernelEntry<DenseBackwardFn> ScalarBackward() {
    return {{1, 1, Act, false}, &kernels::HWY_NAMESPACE::DenseBackward<1, 1, Act, false>};
}

KernelTable<DenseForwardFn> ActivationForwardKernels() {
    using enum activation_kind;
    static const KernelEntry<DenseForwardFn> entries[] = {
        ScalarForward<linear>(), ScalarForward<relu>(),    ScalarForward<elu>(),
        ScalarForward<selu>(),   ScalarForward<sigmoid>(), ScalarForward<tanh>(),
    };
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

KernelTable<DenseBackwardFn> ActivationBackwardKernels() {
    using enum activation_kind;
    static const KernelEntry<DenseBackwardFn> entries[] = {
        ScalarBackward<linear>(), ScalarBackward<relu>(),    ScalarBackward<elu>(),
        ScalarBackward<selu>(),   ScalarBackward<sigmoid>(), ScalarBackward<tanh>(),
    };
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse::test {
namespace {

HWY_EXPORT(ActivationForwardKernels);
HWY_EXPORT(ActivationBackwardKernels);

// Ordinary points, points around the bends and where exp under- or overflows in float (|z| near 88 and 104, the
// end of Highway's Exp range), and a sweep. Below -170 see the separate sigmoid test case.
std::vector<float> TestPoints() {
    std::vector<float> points = {-170.0f, -150.0f, -120.0f, -105.0f, -104.0f, -100.0f, -89.0f, -88.0f, -87.0f,
                                 -50.0f,  -20.0f,  -17.0f,  -10.0f,  -5.0f,   -1.0f,   -0.5f,  -1e-3f, -1e-7f,
                                 -1e-30f, 0.0f,    1e-30f,  1e-7f,   1e-3f,   0.5f,    1.0f,   5.0f,   9.0f,
                                 10.0f,   17.0f,   20.0f,   50.0f,   87.0f,   88.0f,   89.0f,  100.0f, 104.0f,
                                 105.0f,  150.0f,  170.0f,  200.0f,  1e3f,    1e6f,    1e20f};
    for (int i = -300; i <= 300; ++i) points.push_back(static_cast<float>(i) * 0.0371f);  // odd count: tails too
    return points;
}

// Distance in units in the last place between two finite floats (consecutive floats are 1 apart, across zero too).
double UlpDistance(float a, float b) {
    const auto ordered = [](float value) {
        std::int32_t bits;
        std::memcpy(&bits, &value, sizeof bits);
        return bits < 0 ? -static_cast<std::int64_t>(bits & 0x7fffffff) : static_cast<std::int64_t>(bits);
    };
    return static_cast<double>(std::llabs(ordered(a) - ordered(b)));
}

constexpr double kMaxUlps = 8;

// Runs Act on `points` through DenseForward<1, 1> (rows = points) on the current target.
std::vector<float> Activate(std::size_t entry, const std::vector<float>& points) {
    const auto x = GuardedArray<float>::CopyOf(points);
    const GuardedArray<float> kernel(1, 1.0f);
    GuardedArray<float> y(points.size(), kUnwritten);
    HWY_DYNAMIC_DISPATCH(ActivationForwardKernels)
    ().entries[entry].run(x.data(), points.size(), kernel.data(), nullptr, y.data());
    return y.ToVector();
}

void CheckActivate(activation_kind act, const std::vector<float>& points, const std::vector<float>& values) {
    std::size_t violations = 0;
    for (std::size_t i = 0; i < points.size(); ++i) {
        const double expected = ActivationReference(act, points[i]);
        const auto rounded = static_cast<float>(expected);
        const bool both_tiny = std::abs(values[i]) < kSmallestNormal && std::abs(expected) < kSmallestNormal;
        if (both_tiny || (std::isfinite(values[i]) && UlpDistance(values[i], rounded) <= kMaxUlps)) continue;
        ++violations;
        UNSCOPED_INFO(keras_name(act) << "(" << points[i] << ") = " << values[i] << ", expected " << expected);
    }
    CHECK(violations == 0);
}

TEST_CASE("Activate matches std:: functions in double on every target", "[activation]") {
    const std::vector<float> points = TestPoints();
    const auto configurations = HWY_DYNAMIC_DISPATCH(ActivationForwardKernels)();
    for (std::size_t e = 0; e < configurations.count; ++e) {
        const activation_kind act = configurations.entries[e].shape.act;
        INFO(keras_name(act));
        ForEachTargetTable([] { return HWY_DYNAMIC_DISPATCH(ActivationForwardKernels)(); },
                           [&](const auto&) { CheckActivate(act, points, Activate(e, points)); });
    }
}

// Highway's Exp is valid up to +104 only. Beyond about +177 it does not saturate to inf but wraps its exponent,
// so a sigmoid computed as 1 / (1 + Exp(-z)) returns 1 or NaN for z below about -177 instead of 0. Guards
// the form activation-inl.h uses, which only ever calls Exp on -|z|.
TEST_CASE("sigmoid saturates to 0 for inputs below -177", "[activation]") {
    const std::vector<float> points = {-177.5f, -178.0f, -180.0f, -200.0f, -500.0f, -1e3f, -1e6f, -1e20f};
    const auto configurations = HWY_DYNAMIC_DISPATCH(ActivationForwardKernels)();
    for (std::size_t e = 0; e < configurations.count; ++e) {
        const activation_kind act = configurations.entries[e].shape.act;
        if (act != activation_kind::sigmoid) continue;
        ForEachTarget([&](std::int64_t) { CheckActivate(act, points, Activate(e, points)); });
    }
}

TEST_CASE("DerivativeFromOutput matches f'(z) in double on every target", "[activation]") {
    const std::vector<float> points = TestPoints();
    const auto configurations = HWY_DYNAMIC_DISPATCH(ActivationBackwardKernels)();
    for (std::size_t e = 0; e < configurations.count; ++e) {
        const activation_kind act = configurations.entries[e].shape.act;
        INFO(keras_name(act));
        std::vector<float> outputs(points.size());
        for (std::size_t i = 0; i < points.size(); ++i) {
            outputs[i] = static_cast<float>(ActivationReference(act, points[i]));
        }
        ForEachTargetTable(
            [] { return HWY_DYNAMIC_DISPATCH(ActivationBackwardKernels)(); },
            [&](const auto& kernels) {
                const GuardedArray<float> x(points.size(), 1.0f), kernel(1, 1.0f);
                const auto y = GuardedArray<float>::CopyOf(outputs);
                GuardedArray<float> dy(points.size(), 1.0f), dkernel(1, kUnwritten);
                kernels.entries[e].run(x.data(), y.data(), dy.data(), points.size(), kernel.data(), dkernel.data(),
                                       nullptr, nullptr);
                CheckWithin(
                    "Act'(y)", points.size(), [&](std::size_t i) { return dy[i]; },
                    [&](std::size_t i) { return DerivativeReference(act, points[i]); },
                    [&](std::size_t i) {
                        return 8 * kUnitRoundoff *
                               (std::abs(DerivativeReference(act, points[i])) + std::abs(outputs[i]) + 1);
                    });
            });
    }
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
