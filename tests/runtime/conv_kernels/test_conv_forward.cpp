// Conv2dForward on every compiled SIMD target against a double-precision reference (conv_test_support.hpp), and
// bit-identical outputs per sample however the rows are split into calls; long patches keep partial sums.
//
// Tolerance: z is a sum of n = window_h * window_w * channels products plus the bias, so |fl(z) - z| <=
// (n + 2) u sum |x w| + |b| (first-order bound of a chain of fused multiply-adds, u float's unit roundoff); the
// activation adds at most L (Lipschitz constant) times that plus 8 u |y| + 8 u for its own evaluation.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/conv_kernels/test_conv_forward.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/conv2d-inl.h"
#include "tests/runtime/conv_kernels/conv_test_support.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

ConvTable ConvForwardKernels() {
    using enum activation_kind;
#define NNFUSE_CONV_FORWARD_ENTRY(G, F, A, B) \
    {{G, F, A, B}, &kernels::HWY_NAMESPACE::Conv2dForward<G, F, A, B>, nullptr},
    static const ConvEntry entries[] = {NNFUSE_CONV_TEST_KERNELS(NNFUSE_CONV_FORWARD_ENTRY)};
#undef NNFUSE_CONV_FORWARD_ENTRY
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse::test {
namespace {

HWY_EXPORT(ConvForwardKernels);

ConvTable Table() { return HWY_DYNAMIC_DISPATCH(ConvForwardKernels)(); }

std::vector<float> RunForward(ConvForwardFn run, const ConvProblem& p, std::size_t first_row, std::size_t rows) {
    const ConvShape& s = p.shape;
    const auto x = GuardedArray<float>::CopyOf(
        std::vector<float>(p.x.begin() + first_row * s.InputSize(), p.x.begin() + (first_row + rows) * s.InputSize()));
    const auto kernel = GuardedArray<float>::CopyOf(p.kernel);
    const auto bias = GuardedArray<float>::CopyOf(p.bias);
    GuardedArray<float> y(rows * s.OutputSize(), kUnwritten);
    run(x.data(), rows, kernel.data(), s.use_bias ? bias.data() : nullptr, y.data());
    return y.ToVector();
}

TEST_CASE("Conv2dForward matches a double-precision reference on every target", "[conv][forward]") {
    const ConvTable table = Table();
    const double u = kUnitRoundoff;
    for (std::size_t c = 0; c < table.count; ++c) {
        const ConvShape s = table.entries[c].shape;
        for (const std::size_t rows : {1, 2, 3}) {
            INFO(Describe(s, rows));
            const ConvProblem p = MakeConvProblem(s, rows, static_cast<std::uint32_t>(100 * c + rows));
            const PreActivations pre = ConvPreActivations(s, rows, ToDouble(p.x), ToDouble(p.kernel), ToDouble(p.bias));
            std::vector<double> y(pre.z.size()), tolerance(pre.z.size());
            const double n = static_cast<double>(s.PatchSize() + 2);
            for (std::size_t i = 0; i < y.size(); ++i) {
                y[i] = ActivationReference(s.act, pre.z[i]);
                tolerance[i] = LipschitzConstant(s.act) * n * u * pre.magnitude[i] + 8 * u * (std::abs(y[i]) + 1) +
                               kSmallestNormal;
            }
            ForEachTargetTable(Table, [&](const ConvTable& kernels) {
                const std::vector<float> result = RunForward(kernels.entries[c].forward, p, 0, rows);
                CheckWithin(
                    "y", y.size(), [&](std::size_t i) { return result[i]; }, [&](std::size_t i) { return y[i]; },
                    [&](std::size_t i) { return tolerance[i]; });
            });
        }
    }
}

TEST_CASE("Conv2dForward gives each sample the same bits however the rows are split", "[conv][forward]") {
    const ConvTable table = Table();
    for (std::size_t c = 0; c < table.count; ++c) {
        const ConvShape s = table.entries[c].shape;
        constexpr std::size_t kRows = 5;
        INFO(Describe(s, kRows));
        const ConvProblem p = MakeConvProblem(s, kRows, static_cast<std::uint32_t>(7000 + c));
        ForEachTargetTable(Table, [&](const ConvTable& kernels) {
            const ConvForwardFn run = kernels.entries[c].forward;
            const std::vector<float> whole = RunForward(run, p, 0, kRows);
            for (const std::size_t split : {1, 2, 4}) {
                INFO("split after row " << split);
                std::vector<float> parts = RunForward(run, p, 0, split);
                const std::vector<float> rest = RunForward(run, p, split, kRows - split);
                parts.insert(parts.end(), rest.begin(), rest.end());
                CHECK(std::memcmp(parts.data(), whole.data(), whole.size() * sizeof(float)) == 0);
            }
        });
    }
}

// Inputs 8 + [-1, 1] (unnormalized pixels, or an offset a layer carries): every running sum grows with the offset,
// and so does its rounding. One float running sum per output, from the bias through the patch in Keras's kernel
// order (std::fma, as the kernels multiply and add), is the baseline; the kernels' partial sums (pieces of whole
// window rows up to 128 floats, at least 4 of them for these patches) should leave a root-mean-square error well
// below the baseline's (about 1 / sqrt(pieces) of it).
TEST_CASE("Conv2dForward keeps partial sums: inputs with an offset lose less than one running sum",
          "[conv][forward][precision]") {
    const ConvTable table = Table();
    constexpr std::size_t kRows = 2, kLongPatch = 400;
    std::size_t tested = 0;
    for (std::size_t c = 0; c < table.count; ++c) {
        const ConvShape s = table.entries[c].shape;
        if (s.act != activation_kind::linear || s.PatchSize() < kLongPatch) continue;
        ++tested;
        INFO(Describe(s, kRows));
        ConvProblem p = MakeConvProblem(s, kRows, static_cast<std::uint32_t>(9000 + c));
        for (float& value : p.x) value += 8.0f;
        const PreActivations exact = ConvPreActivations(s, kRows, ToDouble(p.x), ToDouble(p.kernel), ToDouble(p.bias));
        double baseline_squares = 0.0;
        for (std::size_t r = 0; r < kRows; ++r) {
            for (std::size_t oh = 0; oh < s.g.out_height(); ++oh) {
                for (std::size_t ow = 0; ow < s.g.out_width(); ++ow) {
                    const std::size_t out = (r * s.OutputPixels() + oh * s.g.out_width() + ow) * s.filters;
                    for (std::size_t f = 0; f < s.filters; ++f) {
                        float running = s.use_bias ? p.bias[f] : 0.0f;
                        ForEachTap(s.g, oh, ow, [&](long index, std::size_t k) {
                            if (index < 0) return;
                            running = std::fma(p.x[r * s.InputSize() + static_cast<std::size_t>(index)],
                                               p.kernel[k * s.filters + f], running);
                        });
                        const double error = running - exact.z[out + f];
                        baseline_squares += error * error;
                    }
                }
            }
        }
        REQUIRE(baseline_squares > 0.0);
        ForEachTargetTable(Table, [&](const ConvTable& kernels) {
            const std::vector<float> y = RunForward(kernels.entries[c].forward, p, 0, kRows);
            double squares = 0.0;
            for (std::size_t i = 0; i < y.size(); ++i) squares += (y[i] - exact.z[i]) * (y[i] - exact.z[i]);
            const double ratio = std::sqrt(squares / baseline_squares);
            INFO("error / one running sum's (root mean square): " << ratio);
            CHECK(ratio < 0.75);
        });
    }
    CHECK(tested >= 3);
}

TEST_CASE("Conv2dForward with no rows touches nothing", "[conv][forward]") {
    const ConvTable table = Table();
    for (std::size_t c = 0; c < table.count; ++c) {
        const ConvShape s = table.entries[c].shape;
        INFO(Describe(s, 0));
        const GuardedArray<float> kernel(s.KernelSize(), 1.0f), bias(s.filters, 1.0f);
        ForEachTargetTable(Table, [&](const ConvTable& kernels) {
            const GuardedArray<float> x(0);  // empty arrays point at their guard page: any access crashes
            GuardedArray<float> y(0);
            kernels.entries[c].forward(x.data(), 0, kernel.data(), s.use_bias ? bias.data() : nullptr, y.data());
            SUCCEED();
        });
    }
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
