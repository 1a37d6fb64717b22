// BnFoldIntoDense, BnFoldIntoDenseTransposed and BnDenseGradientEpilogue (bn_dense_fold-inl.h) on every compiled SIMD
// target, against the formulas of their contract evaluated in double, for shapes that leave every kind of tail: widths
// below, at and above the vector length, In not a multiple of the four rows the epilogue sums at once, and the
// reference model's 784 x 20. Tolerance: each output is a sum of at most In (fold) or Units (epilogue) float products,
// so 1e-5 relative to the sum of the magnitudes of its terms (many ulp above the float rounding of such a sum).

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/dense_kernels/test_bn_dense_fold.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/bn_dense_fold-inl.h"
#include "tests/runtime/dense_kernels/dense_test_support.hpp"

#ifndef NNFUSE_TEST_BN_DENSE_FOLD_TYPES
#define NNFUSE_TEST_BN_DENSE_FOLD_TYPES  // this file is compiled once per target; the types only once
namespace nnfuse::test {
using FoldFn = void (*)(const float*, const float*, const float*, const float*, float*, float*);
using EpilogueFn = void (*)(const float*, const float*, const float*, const float*, const float*, float*, float*,
                            float*);
struct FoldKernels {
    std::size_t in, units;
    FoldFn fold;
    FoldFn fold_transposed;
    EpilogueFn epilogue;
};
struct FoldTable {
    std::int64_t target;
    const FoldKernels* entries;
    std::size_t count;
};
}  // namespace nnfuse::test
#endif

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

template <std::size_t In, std::size_t Units>
constexpr FoldKernels Shape() {
    return {In, Units, &kernels::HWY_NAMESPACE::BnFoldIntoDense<In, Units>,
            &kernels::HWY_NAMESPACE::BnFoldIntoDenseTransposed<In, Units>,
            &kernels::HWY_NAMESPACE::BnDenseGradientEpilogue<In, Units>};
}

FoldTable FoldKernelTable() {
    static const FoldKernels entries[] = {Shape<1, 1>(),  Shape<3, 2>(),    Shape<7, 5>(),  Shape<37, 16>(),
                                          Shape<9, 33>(), Shape<784, 20>(), Shape<130, 3>()};
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

namespace nnfuse::test {
namespace {

HWY_EXPORT(FoldKernelTable);

std::vector<float> Values(std::size_t count, std::uint32_t seed, float offset = 0.0f) {
    std::vector<float> values(count);
    std::uint32_t state = seed * 2654435761u + 1u;
    for (float& v : values) {
        state = state * 1664525u + 1013904223u;
        v = offset + static_cast<float>(static_cast<double>(state >> 8) / 16777216.0 * 2.0 - 1.0);
    }
    return values;
}

void CheckSum(float actual, double expected, double magnitude) {
    CHECK(std::abs(static_cast<double>(actual) - expected) <= 1e-5 * magnitude + 1e-30);
}

}  // namespace

TEST_CASE("BN folded into dense: kernel, bias and gradients match the double formulas on every target",
          "[kernels][fold]") {
    const FoldTable table = HWY_DYNAMIC_DISPATCH(FoldKernelTable)();
    for (std::size_t e = 0; e < table.count; ++e) {
        const std::size_t in = table.entries[e].in, units = table.entries[e].units;
        const auto gamma = Values(in, 1, 1.0f), beta = Values(in, 2), kernel = Values(in * units, 3);
        const auto bias = Values(units, 4), a = Values(in * units, 5), dz_sum = Values(units, 6);
        for (const bool with_bias : {true, false}) {
            ForEachTargetTable(
                [] { return HWY_DYNAMIC_DISPATCH(FoldKernelTable)(); },
                [&](const auto& kernels) {
                    const FoldKernels k = kernels.entries[e];
                    INFO("In " << in << ", Units " << units << (with_bias ? ", bias" : ", no bias"));
                    // folded bias = bias + beta . kernel, in double.
                    const auto CheckFoldedBias = [&](const std::vector<float>& folded_bias) {
                        for (std::size_t j = 0; j < units; ++j) {
                            double expected = with_bias ? bias[j] : 0.0, magnitude = std::abs(expected);
                            for (std::size_t c = 0; c < in; ++c) {
                                expected += static_cast<double>(beta[c]) * kernel[c * units + j];
                                magnitude += std::abs(static_cast<double>(beta[c]) * kernel[c * units + j]);
                            }
                            CheckSum(folded_bias[j], expected, magnitude);
                        }
                    };
                    std::vector<float> folded_kernel(in * units + 1, -7.0f), folded_bias(units + 1, -7.0f);
                    k.fold(gamma.data(), beta.data(), kernel.data(), with_bias ? bias.data() : nullptr,
                           folded_kernel.data(), folded_bias.data());
                    for (std::size_t c = 0; c < in; ++c) {
                        for (std::size_t j = 0; j < units; ++j) {
                            const double w = kernel[c * units + j];
                            CheckSum(folded_kernel[c * units + j], gamma[c] * w, std::abs(gamma[c] * w));
                        }
                    }
                    CheckFoldedBias(folded_bias);
                    CHECK(folded_kernel.back() == -7.0f);  // nothing written past the outputs
                    CHECK(folded_bias.back() == -7.0f);

                    // The transposed fold: the same products (one rounding each), so the same bits, transposed; its
                    // bias sums in another order, within the same tolerance.
                    std::vector<float> folded_t(in * units + 1, -7.0f), folded_t_bias(units + 1, -7.0f);
                    k.fold_transposed(gamma.data(), beta.data(), kernel.data(), with_bias ? bias.data() : nullptr,
                                      folded_t.data(), folded_t_bias.data());
                    std::size_t transposed_differ = 0;
                    for (std::size_t c = 0; c < in; ++c) {
                        for (std::size_t j = 0; j < units; ++j) {
                            transposed_differ += folded_t[j * in + c] != folded_kernel[c * units + j];
                        }
                    }
                    CHECK(transposed_differ == 0);
                    CheckFoldedBias(folded_t_bias);
                    CHECK(folded_t.back() == -7.0f);
                    CHECK(folded_t_bias.back() == -7.0f);

                    std::vector<float> dkernel(in * units + 1, -7.0f), dgamma(in + 1, -7.0f), dbeta(in + 1, -7.0f);
                    k.epilogue(gamma.data(), beta.data(), kernel.data(), dz_sum.data(), a.data(), dkernel.data(),
                               dgamma.data(), dbeta.data());
                    for (std::size_t c = 0; c < in; ++c) {
                        double g = 0.0, g_magnitude = 0.0, b = 0.0, b_magnitude = 0.0;
                        for (std::size_t j = 0; j < units; ++j) {
                            const double w = kernel[c * units + j], a_cj = a[c * units + j];
                            g += w * a_cj;
                            g_magnitude += std::abs(w * a_cj);
                            b += w * dz_sum[j];
                            b_magnitude += std::abs(w * dz_sum[j]);
                            const double expected = gamma[c] * a_cj + static_cast<double>(beta[c]) * dz_sum[j];
                            CheckSum(dkernel[c * units + j], expected,
                                     std::abs(gamma[c] * a_cj) + std::abs(static_cast<double>(beta[c]) * dz_sum[j]));
                        }
                        INFO("feature " << c);
                        CheckSum(dgamma[c], g, g_magnitude);
                        CheckSum(dbeta[c], b, b_magnitude);
                    }
                    CHECK(dkernel.back() == -7.0f);
                    CHECK(dgamma.back() == -7.0f);
                    CHECK(dbeta.back() == -7.0f);
                });
        }
    }
}

}  // namespace nnfuse::test
#endif  // HWY_ONCE
