// Conv2dBackward on every compiled SIMD target: against a double-precision reference (dz, dkernel, dbias, dx, with
// and without dx), against central finite differences of f = sum(g * conv(x)), rows split into two calls, no rows.
//
// Reference tolerances, with u float's unit roundoff (as the dense tests):
//   dz = g Act'(z):  8 u |g| (|Act'(z)| + |y| + 1) (the kernel takes Act' from the float output y).
//   dkernel, dbias, dx (sums of n products): sum |coefficient| tol(dz) + (n + 2) u sum |terms|, the propagated dz
//                    error plus the first-order bound of any order of n fused multiply-adds and additions.
// Finite differences:
//   of the double reference forward (h = 1e-5, every activation in the list): tolerance 2e-5 (1 + |fd|).
//   of the kernels' own float forward, for linear layers, where f is exactly linear in each entry, so a step of 1
//   has no truncation error: the loss sum g y in double, tolerance sum |g| (tol(y+) + tol(y-)) / 2 with tol the
//   forward's bound (test_conv_forward.cpp), plus the backward's own bound.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/conv_kernels/test_conv_backward.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/conv2d-inl.h"
#include "tests/runtime/conv_kernels/conv_test_support.hpp"
#include "tests/runtime/conv_kernels/winograd_reference.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

// Which dx path the shapes take in Conv2dBackward (conv2d_backward-inl.h), so that both stay tested; the channel
// counts at or below a vector's lanes take the scatter on SIMD targets (C = 1 everywhere, C = 3 except on SCALAR).
namespace conv_detail = kernels::HWY_NAMESPACE::conv_detail;
static_assert(conv_detail::kInputGradientIsForward<kSame5x5C17, 19> &&
              conv_detail::kInputGradientIsForward<kSame5x5C17, 3> &&
              conv_detail::kInputGradientIsForward<kWideBand, 5> &&
              conv_detail::kInputGradientIsForward<kTypical14, 64>);
static_assert(!conv_detail::kInputGradientIsForward<kSame3x3C1, 32> &&
              !conv_detail::kInputGradientIsForward<kSame5x5S2, 17> &&
              !conv_detail::kInputGradientIsForward<kValid3x3C17, 32> &&
              !conv_detail::kInputGradientIsForward<kSameEven, 5> &&
              !conv_detail::kInputGradientIsForward<kSame3x2, 17> &&
              !conv_detail::kInputGradientIsForward<kSameManyFilters, 911> &&
              !conv_detail::kInputGradientIsForward<kMixed, 17>);

// conv_detail::InputGradientsAsForward, with the kernel flipped by Conv2dFlipKernel, for every tested shape where dx
// is a forward convolution, also where Conv2dBackward keeps the scatter (few channels), so that the flipped kernel is
// tested at C = 1 and 3 too.
template <window_geometry G, std::size_t F>
void FlipAndRunInputGradientsAsForward(const float* dz, std::size_t rows, const float* kernel, float* dx) {
    GuardedArray<float> flipped(kernels::flipped_kernel_floats(G, F), kUnwritten);
    kernels::HWY_NAMESPACE::Conv2dFlipKernel<G, F>(kernel, flipped.data());
    conv_detail::InputGradientsAsForward<G, F>(dz, rows, flipped.data(), dx);
}
template <window_geometry G, std::size_t F>
constexpr ConvInputGradientFn InputGradientAsForwardOrNull() {
    if constexpr (conv_detail::InputGradientIsForwardConvolution<G, F>()) {
        return &FlipAndRunInputGradientsAsForward<G, F>;
    } else {
        return nullptr;
    }
}
ConvInputGradientTable InputGradientsAsForwardKernels() {
#define NNFUSE_CONV_DX_ENTRY(G, F, A, B) InputGradientAsForwardOrNull<G, F>(),
    static const ConvInputGradientFn entries[] = {NNFUSE_CONV_TEST_KERNELS(NNFUSE_CONV_DX_ENTRY)};
#undef NNFUSE_CONV_DX_ENTRY
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

ConvTable ConvBackwardKernels() {
    using enum activation_kind;
#define NNFUSE_CONV_BACKWARD_ENTRY(G, F, A, B)            \
    {{G, F, A, B},                                        \
     &kernels::HWY_NAMESPACE::Conv2dForward<G, F, A, B>,  \
     &kernels::HWY_NAMESPACE::Conv2dBackward<G, F, A, B>, \
     &kernels::HWY_NAMESPACE::Conv2dFlipKernel<G, F>},
    static const ConvEntry entries[] = {NNFUSE_CONV_TEST_KERNELS(NNFUSE_CONV_BACKWARD_ENTRY)};
#undef NNFUSE_CONV_BACKWARD_ENTRY
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse::test {
namespace {

HWY_EXPORT(ConvBackwardKernels);

ConvTable Table() { return HWY_DYNAMIC_DISPATCH(ConvBackwardKernels)(); }

HWY_EXPORT(InputGradientsAsForwardKernels);

ConvInputGradientTable InputGradientsAsForwardTable() { return HWY_DYNAMIC_DISPATCH(InputGradientsAsForwardKernels)(); }

// y as a float forward pass would store it: the double reference rounded.
std::vector<float> ReferenceOutput(const ConvProblem& p, const std::vector<double>& z) {
    std::vector<float> y(z.size());
    for (std::size_t i = 0; i < z.size(); ++i) y[i] = static_cast<float>(ActivationReference(p.shape.act, z[i]));
    return y;
}

struct BackwardResult {
    std::vector<float> dz, dkernel, dbias, dx;
};

// The flipped kernel Conv2dBackward reads where dx is a forward convolution, made by the entry's Conv2dFlipKernel; an
// empty array (any access crashes) elsewhere, where the contract lets the caller pass nullptr.
GuardedArray<float> FlippedKernel(const ConvEntry& entry, const GuardedArray<float>& kernel) {
    const ConvShape& s = entry.shape;
    if (!kernels::input_gradient_is_forward_convolution(s.g, s.filters)) return GuardedArray<float>(0);
    GuardedArray<float> flipped(kernels::flipped_kernel_floats(s.g, s.filters), kUnwritten);
    entry.flip(kernel.data(), flipped.data());
    return flipped;
}

// Runs the backward kernel on rows [first_row, first_row + rows) of the problem. Outputs start as NaN.
BackwardResult RunBackward(const ConvEntry& entry, const ConvProblem& p, const std::vector<float>& y_all,
                           std::size_t first_row, std::size_t rows, bool with_dx) {
    const ConvShape& s = p.shape;
    const auto slice = [&](const std::vector<float>& v, std::size_t per_row) {
        return GuardedArray<float>::CopyOf(
            std::vector<float>(v.begin() + first_row * per_row, v.begin() + (first_row + rows) * per_row));
    };
    const auto x = slice(p.x, s.InputSize());
    const auto y = slice(y_all, s.OutputSize());
    auto dy = slice(p.g, s.OutputSize());
    const auto kernel = GuardedArray<float>::CopyOf(p.kernel);
    GuardedArray<float> dkernel(s.KernelSize(), kUnwritten), dbias(s.filters, kUnwritten);
    GuardedArray<float> dx(rows * s.InputSize(), kUnwritten);
    const auto flipped = FlippedKernel(entry, kernel);
    entry.backward(x.data(), s.act == activation_kind::linear ? nullptr : y.data(), dy.data(), rows, kernel.data(),
                   flipped.data(), dkernel.data(), s.use_bias ? dbias.data() : nullptr, with_dx ? dx.data() : nullptr);
    return {dy.ToVector(), dkernel.ToVector(), dbias.ToVector(), dx.ToVector()};
}

// A sum of n products a_i b_i whose b_i carry the dz error.
struct Sum {
    double value = 0, magnitude = 0, propagated = 0;
    std::size_t terms = 0;
    void Add(double a, double b, double b_tolerance) {
        value += a * b, magnitude += std::abs(a * b), propagated += std::abs(a) * b_tolerance, ++terms;
    }
    double Tolerance() const {
        return propagated + static_cast<double>(terms + 2) * kUnitRoundoff * magnitude + kSmallestNormal;
    }
};

struct ReferenceGradients {
    std::vector<double> dz, dz_tolerance;
    std::vector<Sum> dkernel, dbias, dx;
};

ReferenceGradients ComputeReference(const ConvProblem& p, const std::vector<double>& z, const std::vector<float>& y) {
    const ConvShape& s = p.shape;
    const double u = kUnitRoundoff;
    ReferenceGradients ref{std::vector<double>(z.size()), std::vector<double>(z.size()),
                           std::vector<Sum>(s.KernelSize()), std::vector<Sum>(s.filters),
                           std::vector<Sum>(p.rows * s.InputSize())};
    for (std::size_t i = 0; i < z.size(); ++i) {
        const double derivative = DerivativeReference(s.act, z[i]);
        ref.dz[i] = p.g[i] * derivative;
        ref.dz_tolerance[i] = 8 * u * std::abs(p.g[i]) * (std::abs(derivative) + std::abs(y[i]) + 1);
    }
    for (std::size_t r = 0; r < p.rows; ++r) {
        for (std::size_t oh = 0; oh < s.g.out_height(); ++oh) {
            for (std::size_t ow = 0; ow < s.g.out_width(); ++ow) {
                const std::size_t out = (r * s.OutputPixels() + oh * s.g.out_width() + ow) * s.filters;
                for (std::size_t f = 0; f < s.filters; ++f)
                    ref.dbias[f].Add(1.0, ref.dz[out + f], ref.dz_tolerance[out + f]);
                ForEachTap(s.g, oh, ow, [&](long index, std::size_t k) {
                    const double value = index < 0 ? 0.0 : p.x[r * s.InputSize() + static_cast<std::size_t>(index)];
                    for (std::size_t f = 0; f < s.filters; ++f) {
                        ref.dkernel[k * s.filters + f].Add(value, ref.dz[out + f], ref.dz_tolerance[out + f]);
                        if (index >= 0) {
                            ref.dx[r * s.InputSize() + static_cast<std::size_t>(index)].Add(
                                p.kernel[k * s.filters + f], ref.dz[out + f], ref.dz_tolerance[out + f]);
                        }
                    }
                });
            }
        }
    }
    return ref;
}

// winograd: per value, the rounding bound of Winograd's F(2x2, 3x3) where the sums run through it (empty elsewhere);
// the tolerance is then the larger of the direct sum's and that plus the propagated error.
void CheckSums(const std::string& what, const std::vector<float>& actual, const std::vector<Sum>& expected,
               const std::vector<double>& winograd = {}) {
    CheckWithin(
        what, expected.size(), [&](std::size_t i) { return actual[i]; },
        [&](std::size_t i) { return expected[i].value; },
        [&](std::size_t i) {
            const double direct = expected[i].Tolerance();
            return winograd.empty() ? direct : std::max(direct, expected[i].propagated + winograd[i]);
        });
}

// Where the kernel gradient is Winograd's (forward_is_winograd), the rounding bound of each dkernel value
// (winograd_reference.hpp); empty elsewhere.
std::vector<double> WinogradKernelGradientBounds(const ConvProblem& p, const std::vector<double>& dz) {
    const ConvShape& s = p.shape;
    if (!kernels::forward_is_winograd(s.g, s.filters)) return {};
    std::vector<double> bounds = WinogradGradientMagnitudes(s.g, s.filters, p.rows, ToDouble(p.x), dz);
    const std::size_t products = p.rows * ((s.g.out_height() + 1) / 2) * ((s.g.out_width() + 1) / 2);
    for (double& bound : bounds) bound = WinogradTolerance(products, bound, 0.0);
    return bounds;
}

// Where dx is Winograd's forward of dz with the flipped kernel (forward_is_winograd of the input gradient's geometry),
// the rounding bound of each dx value (winograd_reference.hpp); empty elsewhere.
std::vector<double> WinogradInputGradientBounds(const ConvProblem& p, const std::vector<double>& dz) {
    const ConvShape& s = p.shape;
    const window_geometry dual = kernels::input_gradient_geometry(s.g, s.filters);
    if (!kernels::input_gradient_is_forward_convolution(s.g, s.filters) ||
        !kernels::forward_is_winograd(dual, s.g.channels))
        return {};
    const std::size_t C = s.g.channels, F = s.filters;
    std::vector<double> flipped(9 * F * C);  // [kh', kw', f, c] = kernel[2 - kh', 2 - kw', c, f]
    for (std::size_t tap = 0; tap < 9; ++tap) {
        for (std::size_t c = 0; c < C; ++c) {
            for (std::size_t f = 0; f < F; ++f) flipped[(tap * F + f) * C + c] = p.kernel[((8 - tap) * C + c) * F + f];
        }
    }
    std::vector<double> bounds = WinogradMagnitudes(dual, C, p.rows, dz, flipped);
    for (double& bound : bounds) bound = WinogradTolerance(F, bound, 0.0);
    return bounds;
}

TEST_CASE("Conv2dBackward matches a double-precision reference on every target", "[conv][backward]") {
    const ConvTable table = Table();
    for (std::size_t c = 0; c < table.count; ++c) {
        const ConvShape s = table.entries[c].shape;
        for (const std::size_t rows : {1, 3}) {
            INFO(Describe(s, rows));
            const ConvProblem p = MakeConvProblem(s, rows, static_cast<std::uint32_t>(200 * c + rows));
            const std::vector<double> z =
                ConvPreActivations(s, rows, ToDouble(p.x), ToDouble(p.kernel), ToDouble(p.bias)).z;
            const std::vector<float> y = ReferenceOutput(p, z);
            const ReferenceGradients ref = ComputeReference(p, z, y);
            const std::vector<double> winograd_dx = WinogradInputGradientBounds(p, ref.dz);
            const std::vector<double> winograd_dkernel = WinogradKernelGradientBounds(p, ref.dz);
            ForEachTargetTable(Table, [&](const ConvTable& kernels) {
                for (const bool with_dx : {true, false}) {
                    INFO((with_dx ? "with dx" : "dx == nullptr"));
                    const BackwardResult result = RunBackward(kernels.entries[c], p, y, 0, rows, with_dx);
                    CheckWithin(
                        "dz (in dy)", ref.dz.size(), [&](std::size_t i) { return result.dz[i]; },
                        [&](std::size_t i) { return ref.dz[i]; }, [&](std::size_t i) { return ref.dz_tolerance[i]; });
                    CheckSums("dkernel", result.dkernel, ref.dkernel, winograd_dkernel);
                    if (s.use_bias) {
                        CheckSums("dbias", result.dbias, ref.dbias);
                    } else {
                        CHECK(std::all_of(result.dbias.begin(), result.dbias.end(),
                                          [](float v) { return std::isnan(v); }));
                    }
                    if (with_dx) {
                        CheckSums("dx", result.dx, ref.dx, winograd_dx);
                    } else {
                        CHECK(std::all_of(result.dx.begin(), result.dx.end(), [](float v) { return std::isnan(v); }));
                    }
                }
            });
        }
    }
}

TEST_CASE("The input gradient as a forward convolution matches the reference wherever it applies, on every target",
          "[conv][backward]") {
    const ConvTable table = Table();
    std::size_t tested = 0;
    for (std::size_t c = 0; c < table.count; ++c) {
        const ConvShape s = table.entries[c].shape;
        if (InputGradientsAsForwardTable().entries[c] == nullptr) continue;
        ++tested;
        constexpr std::size_t kRows = 3;
        INFO(Describe(s, kRows));
        const ConvProblem p = MakeConvProblem(s, kRows, static_cast<std::uint32_t>(9000 + c));
        const std::vector<double> z =
            ConvPreActivations(s, kRows, ToDouble(p.x), ToDouble(p.kernel), ToDouble(p.bias)).z;
        const ReferenceGradients ref = ComputeReference(p, z, ReferenceOutput(p, z));
        // dz rounded to float: within the reference's dz tolerance, which its dx tolerance propagates.
        std::vector<float> dz_values(ref.dz.size());
        for (std::size_t i = 0; i < dz_values.size(); ++i) dz_values[i] = static_cast<float>(ref.dz[i]);
        const std::vector<double> winograd_dx = WinogradInputGradientBounds(p, ref.dz);
        ForEachTargetTable(InputGradientsAsForwardTable, [&](const ConvInputGradientTable& kernels) {
            const auto dz = GuardedArray<float>::CopyOf(dz_values);
            const auto kernel = GuardedArray<float>::CopyOf(p.kernel);
            GuardedArray<float> dx(kRows * s.InputSize(), kUnwritten);
            kernels.entries[c](dz.data(), kRows, kernel.data(), dx.data());
            CheckSums("dx", dx.ToVector(), ref.dx, winograd_dx);
        });
    }
    CHECK(tested == 13);  // the shapes above with stride 1, same padding and odd windows
}

// f(x, kernel, bias) = sum g * Act(conv(x) + bias), in double.
double Objective(const ConvProblem& p, const std::vector<double>& x, const std::vector<double>& kernel,
                 const std::vector<double>& bias) {
    const std::vector<double> z = ConvPreActivations(p.shape, p.rows, x, kernel, bias).z;
    double sum = 0;
    for (std::size_t i = 0; i < z.size(); ++i) sum += p.g[i] * ActivationReference(p.shape.act, z[i]);
    return sum;
}

std::vector<std::size_t> SampleIndices(std::mt19937& random, std::size_t size, std::size_t count) {
    std::vector<std::size_t> indices(size);
    for (std::size_t i = 0; i < size; ++i) indices[i] = i;
    std::shuffle(indices.begin(), indices.end(), random);
    indices.resize(std::min(size, count));
    return indices;
}

TEST_CASE("Conv2dBackward agrees with finite differences of sum(g * conv(x)) on every target", "[conv][backward]") {
    const ConvTable table = Table();
    constexpr std::size_t kRows = 2, kSamplesPerArray = 12;
    for (std::size_t c = 0; c < table.count; ++c) {
        const ConvShape s = table.entries[c].shape;
        if (s.act == activation_kind::relu) continue;  // a kink inside the step would break the difference
        INFO(Describe(s, kRows));
        const ConvProblem p = MakeConvProblem(s, kRows, static_cast<std::uint32_t>(3000 + c));
        const std::vector<double> z =
            ConvPreActivations(s, kRows, ToDouble(p.x), ToDouble(p.kernel), ToDouble(p.bias)).z;
        const std::vector<float> y = ReferenceOutput(p, z);
        std::mt19937 random(static_cast<std::uint32_t>(4000 + c));
        const std::vector<std::size_t> samples[3] = {
            SampleIndices(random, p.x.size(), kSamplesPerArray),
            SampleIndices(random, p.kernel.size(), kSamplesPerArray),
            SampleIndices(random, s.use_bias ? s.filters : 0, kSamplesPerArray)};
        std::vector<double> fd[3];
        for (int which = 0; which < 3; ++which) {
            for (const std::size_t index : samples[which]) {
                constexpr double kStep = 1e-5;
                std::vector<double> params[3] = {ToDouble(p.x), ToDouble(p.kernel), ToDouble(p.bias)};
                params[which][index] += kStep;
                const double above = Objective(p, params[0], params[1], params[2]);
                params[which][index] -= 2 * kStep;
                const double below = Objective(p, params[0], params[1], params[2]);
                fd[which].push_back((above - below) / (2 * kStep));
            }
        }
        ForEachTargetTable(Table, [&](const ConvTable& kernels) {
            const BackwardResult result = RunBackward(kernels.entries[c], p, y, 0, kRows, true);
            const std::vector<float>* gradients[3] = {&result.dx, &result.dkernel, &result.dbias};
            const char* names[3] = {"dx", "dkernel", "dbias"};
            for (int which = 0; which < 3; ++which) {
                CheckWithin(
                    names[which], samples[which].size(),
                    [&](std::size_t i) { return (*gradients[which])[samples[which][i]]; },
                    [&](std::size_t i) { return fd[which][i]; },
                    [&](std::size_t i) { return 2e-5 * (1 + std::abs(fd[which][i])); });
            }
        });
    }
}

// Linear layers: the loss sum g y of the kernels' own float forward, differenced with a step of 1 (exact: the
// loss is linear in each entry), against the kernels' backward.
TEST_CASE("Conv2dBackward agrees with differences of the float forward on every target", "[conv][backward]") {
    const ConvTable table = Table();
    constexpr std::size_t kRows = 2, kSamplesPerArray = 6;
    const double u = kUnitRoundoff;
    for (std::size_t c = 0; c < table.count; ++c) {
        const ConvShape s = table.entries[c].shape;
        if (s.act != activation_kind::linear) continue;
        INFO(Describe(s, kRows));
        const ConvProblem p = MakeConvProblem(s, kRows, static_cast<std::uint32_t>(5000 + c));
        std::mt19937 random(static_cast<std::uint32_t>(6000 + c));
        const auto x_samples = SampleIndices(random, p.x.size(), kSamplesPerArray);
        const auto kernel_samples = SampleIndices(random, p.kernel.size(), kSamplesPerArray);
        ForEachTargetTable(Table, [&](const ConvTable& kernels) {
            const ConvEntry& entry = kernels.entries[c];
            // The loss of the float forward at (x, kernel) and its rounding bound sum |g| (n + 2) u sum |x w| + |b|.
            const auto loss = [&](const std::vector<float>& x, const std::vector<float>& kernel, double& bound) {
                std::vector<float> y(kRows * s.OutputSize());
                entry.forward(x.data(), kRows, kernel.data(), s.use_bias ? p.bias.data() : nullptr, y.data());
                const PreActivations pre =
                    ConvPreActivations(s, kRows, ToDouble(x), ToDouble(kernel), ToDouble(p.bias));
                double sum = 0;
                for (std::size_t i = 0; i < y.size(); ++i) {
                    sum += p.g[i] * y[i];
                    bound += std::abs(p.g[i]) *
                             (static_cast<double>(s.PatchSize() + 2) * u * pre.magnitude[i] + kSmallestNormal);
                }
                return sum;
            };
            const std::vector<double> z =
                ConvPreActivations(s, kRows, ToDouble(p.x), ToDouble(p.kernel), ToDouble(p.bias)).z;
            const std::vector<float> y = ReferenceOutput(p, z);
            const BackwardResult result = RunBackward(entry, p, y, 0, kRows, true);
            const ReferenceGradients ref = ComputeReference(p, z, y);
            for (const bool of_kernel : {false, true}) {
                const auto& indices = of_kernel ? kernel_samples : x_samples;
                for (const std::size_t index : indices) {
                    std::vector<float> x = p.x, kernel = p.kernel;
                    float& entry_value = of_kernel ? kernel[index] : x[index];
                    const float original = entry_value;
                    double bound = 0;
                    entry_value = original + 1.0f;
                    const double above = loss(x, kernel, bound);
                    entry_value = original - 1.0f;
                    const double below = loss(x, kernel, bound);
                    const double step = (static_cast<double>(original + 1.0f) - static_cast<double>(original - 1.0f));
                    const double difference = (above - below) / step;
                    const Sum& expected = of_kernel ? ref.dkernel[index] : ref.dx[index];
                    const float got = of_kernel ? result.dkernel[index] : result.dx[index];
                    INFO((of_kernel ? "dkernel[" : "dx[")
                         << index << "]: backward " << got << ", difference " << difference);
                    CHECK(std::abs(got - difference) <= bound / step + expected.Tolerance());
                }
            }
        });
    }
}

TEST_CASE("Conv2dBackward split into two calls: same dz and dx bits, dkernel and dbias the parts' sums",
          "[conv][backward]") {
    const ConvTable table = Table();
    constexpr std::size_t kRows = 5;
    for (std::size_t c = 0; c < table.count; ++c) {
        const ConvShape s = table.entries[c].shape;
        INFO(Describe(s, kRows));
        const ConvProblem p = MakeConvProblem(s, kRows, static_cast<std::uint32_t>(8000 + c));
        const std::vector<double> z =
            ConvPreActivations(s, kRows, ToDouble(p.x), ToDouble(p.kernel), ToDouble(p.bias)).z;
        const std::vector<float> y = ReferenceOutput(p, z);
        const ReferenceGradients ref = ComputeReference(p, z, y);
        ForEachTargetTable(Table, [&](const ConvTable& kernels) {
            const ConvEntry& run = kernels.entries[c];
            const BackwardResult whole = RunBackward(run, p, y, 0, kRows, true);
            for (const std::size_t split : {1, 2}) {
                INFO("split after row " << split);
                const BackwardResult first = RunBackward(run, p, y, 0, split, true);
                const BackwardResult second = RunBackward(run, p, y, split, kRows - split, true);
                const auto same_bits = [](const std::vector<float>& a, const std::vector<float>& b,
                                          const std::vector<float>& joined) {
                    return a.size() + b.size() == joined.size() &&
                           std::memcmp(a.data(), joined.data(), a.size() * sizeof(float)) == 0 &&
                           std::memcmp(b.data(), joined.data() + a.size(), b.size() * sizeof(float)) == 0;
                };
                CHECK(same_bits(first.dz, second.dz, whole.dz));
                CHECK(same_bits(first.dx, second.dx, whole.dx));
                // Each part is within its bound of its exact sum, the whole within its own: the parts' sum is
                // within twice the whole's bound (the parts' magnitudes add up to the whole's).
                CheckWithin(
                    "dkernel parts", s.KernelSize(),
                    [&](std::size_t i) { return double(first.dkernel[i]) + second.dkernel[i]; },
                    [&](std::size_t i) { return double(whole.dkernel[i]); },
                    [&](std::size_t i) { return 2 * ref.dkernel[i].Tolerance(); });
                if (s.use_bias) {
                    CheckWithin(
                        "dbias parts", s.filters,
                        [&](std::size_t i) { return double(first.dbias[i]) + second.dbias[i]; },
                        [&](std::size_t i) { return double(whole.dbias[i]); },
                        [&](std::size_t i) { return 2 * ref.dbias[i].Tolerance(); });
                }
            }
        });
    }
}

TEST_CASE("Conv2dBackward with no rows gives zero parameter gradients", "[conv][backward]") {
    const ConvTable table = Table();
    for (std::size_t c = 0; c < table.count; ++c) {
        const ConvShape s = table.entries[c].shape;
        INFO(Describe(s, 0));
        const GuardedArray<float> kernel(s.KernelSize(), 1.0f);
        ForEachTargetTable(Table, [&](const ConvTable& kernels) {
            const GuardedArray<float> x(0), y(0);  // empty arrays point at their guard page: any access crashes
            GuardedArray<float> dy(0), dx(0);
            GuardedArray<float> dkernel(s.KernelSize(), kUnwritten), dbias(s.filters, kUnwritten);
            const auto flipped = FlippedKernel(kernels.entries[c], kernel);
            kernels.entries[c].backward(x.data(), y.data(), dy.data(), 0, kernel.data(), flipped.data(), dkernel.data(),
                                        s.use_bias ? dbias.data() : nullptr, dx.data());
            CHECK(std::all_of(dkernel.data(), dkernel.data() + dkernel.size(), [](float v) { return v == 0.0f; }));
            if (s.use_bias) {
                CHECK(std::all_of(dbias.data(), dbias.data() + dbias.size(), [](float v) { return v == 0.0f; }));
            }
        });
    }
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
