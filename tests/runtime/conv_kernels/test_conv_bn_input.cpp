// A Conv2D that applies the BN before it while it reads (runtime/kernels/conv2d_bn_input-inl.h), and the BN's backward
// kernels that recompute y from x (bn_chunk_training-inl.h's *FromX), on every compiled SIMD target. The claim is bit
// identity, so the references are the plain kernels: Conv2dForward, Conv2dForwardWithMoments and Conv2dBackward run on
// the map BnNormalizeChunk stores, and BnChunkGradientSums / BnChunkInputGradient reading that stored map. Every float
// is compared with memcmp (0 differing floats), at odd extents, stride 2, same and valid padding, C = 1, 3, 17, 32,
// 100 (spans starting inside a pixel), the BN's activation relu, linear and elu, with and without gamma and beta.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/conv_kernels/test_conv_bn_input.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/bn_chunk_training-inl.h"
#include "runtime/kernels/conv2d_bn_input-inl.h"
#include "tests/runtime/conv_kernels/conv_test_support.hpp"

#ifndef NNFUSE_TEST_CONV_BN_INPUT_TYPES
#define NNFUSE_TEST_CONV_BN_INPUT_TYPES  // this file is compiled once per target; the types only once
namespace nnfuse::test {
// bn: batch_mean, inv_std, gamma, beta
using BnForwardFn = void (*)(const float* x, const float* const* bn, std::size_t rows, const float* kernel,
                             const float* bias, float* y);
using BnMomentsFn = void (*)(const float* x, const float* const* bn, std::size_t rows, const float* kernel,
                             const float* bias, float* y, float* moments);
using PlainMomentsFn = void (*)(const float* x, std::size_t rows, const float* kernel, const float* bias, float* y,
                                float* moments);
using BnBackwardFn = void (*)(const float* x, const float* const* bn, const float* y, float* dy, std::size_t rows,
                              const float* kernel, const float* flipped_kernel, float* dkernel, float* dbias,
                              float* dx);
using NormalizeFn = void (*)(const float* x, std::size_t rows, const float* mean, const float* inv_std,
                             const float* gamma, const float* beta, float* y);
using SumsFn = void (*)(const float* x, const float* y, const float* dy, std::size_t rows, const float* mean,
                        float* sums);
using SumsFromXFn = void (*)(const float* x, const float* dy, std::size_t rows, const float* const* bn, float* sums);
using InputGradientFn = void (*)(const float* x, const float* y, const float* dy, std::size_t rows, const float* gamma,
                                 const float* mean, const float* inv_std, const float* coefficients, float* dx);
using InputGradientFromXFn = void (*)(const float* x, const float* dy, std::size_t rows, const float* const* bn,
                                      const float* coefficients, float* dx);
struct BnInputEntry {
    ConvShape shape;
    activation_kind bn_act;
    bool scale, center;
    BnForwardFn forward;
    ConvForwardFn plain_forward;
    ConvFlipFn prepare;  // Conv2dForwardKernel: the kernel the forwards with moments read
    BnMomentsFn with_moments;
    PlainMomentsFn plain_with_moments;
    BnBackwardFn backward;
    ConvBackwardFn plain_backward;
    ConvFlipFn flip;
    NormalizeFn normalize;
    SumsFn sums;
    SumsFromXFn sums_from_x;
    InputGradientFn input_gradient;
    InputGradientFromXFn input_gradient_from_x;
};
struct BnInputTable {
    std::int64_t target;
    const BnInputEntry* entries;
    std::size_t count;
};
// C = 17 and stride 2 in both directions, 3x3: spans start inside pixels at every offset; the sample's second layer.
inline constexpr window_geometry kSame3x3S2C17{9, 7, 17, 3, 3, 2, 2, true};
inline constexpr window_geometry kSample28{28, 28, 32, 3, 3, 1, 1, true};
}  // namespace nnfuse::test
#endif

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {
namespace k = kernels::HWY_NAMESPACE;

template <window_geometry G, std::size_t F, activation_kind Act, bool B, activation_kind BnAct, bool S, bool C>
void Forward(const float* x, const float* const* bn, std::size_t rows, const float* kernel, const float* bias,
             float* y) {
    k::Conv2dForwardBnInput<G, F, Act, B, BnAct, S, C>(x, bn[0], bn[1], bn[2], bn[3], rows, kernel, bias, y);
}
template <window_geometry G, std::size_t F, bool B, activation_kind BnAct, bool S, bool C>
void WithMoments(const float* x, const float* const* bn, std::size_t rows, const float* kernel, const float* bias,
                 float* y, float* moments) {
    k::Conv2dForwardWithMomentsBnInput<G, F, activation_kind::linear, B, BnAct, S, C>(x, bn[0], bn[1], bn[2], bn[3],
                                                                                      rows, kernel, bias, y, moments);
}
template <window_geometry G, std::size_t F, activation_kind Act, bool B, activation_kind BnAct, bool S, bool C>
void Backward(const float* x, const float* const* bn, const float* y, float* dy, std::size_t rows, const float* kernel,
              const float* flipped_kernel, float* dkernel, float* dbias, float* dx) {
    k::Conv2dBackwardBnInput<G, F, Act, B, BnAct, S, C>(x, bn[0], bn[1], bn[2], bn[3], y, dy, rows, kernel,
                                                        flipped_kernel, dkernel, dbias, dx);
}
template <std::size_t Channels, activation_kind BnAct, bool S, bool C>
void SumsFromX(const float* x, const float* dy, std::size_t rows, const float* const* bn, float* sums) {
    k::BnChunkGradientSumsFromX<Channels, BnAct, S, C>(x, dy, rows, bn[0], bn[1], bn[2], bn[3], sums);
}
template <std::size_t Channels, activation_kind BnAct, bool S, bool C>
void InputGradientFromX(const float* x, const float* dy, std::size_t rows, const float* const* bn,
                        const float* coefficients, float* dx) {
    k::BnChunkInputGradientFromX<Channels, BnAct, S, C>(x, dy, rows, bn[2], bn[3], bn[0], bn[1], coefficients, dx);
}

BnInputTable ConvBnInputKernels() {
    using enum activation_kind;
#define NNFUSE_BN_INPUT_ENTRY(G, F, Act, B, BnAct, S, C) \
    {{G, F, Act, B},                                     \
     BnAct,                                              \
     S,                                                  \
     C,                                                  \
     &Forward<G, F, Act, B, BnAct, S, C>,                \
     &k::Conv2dForward<G, F, Act, B>,                    \
     &k::Conv2dForwardKernel<G, F>,                      \
     &WithMoments<G, F, B, BnAct, S, C>,                 \
     &k::Conv2dForwardWithMoments<G, F, linear, B>,      \
     &Backward<G, F, Act, B, BnAct, S, C>,               \
     &k::Conv2dBackward<G, F, Act, B>,                   \
     &k::Conv2dFlipKernel<G, F>,                         \
     &k::BnNormalizeChunk<G.channels, BnAct, S, C>,      \
     &k::BnChunkGradientSums<G.channels, BnAct>,         \
     &SumsFromX<G.channels, BnAct, S, C>,                \
     &k::BnChunkInputGradient<G.channels, BnAct, S>,     \
     &InputGradientFromX<G.channels, BnAct, S, C>},
    static const BnInputEntry entries[] = {
        // clang-format off
        NNFUSE_BN_INPUT_ENTRY(kSame3x3C1, 8, linear, false, relu, true, true)
        NNFUSE_BN_INPUT_ENTRY(kSame3x3C3, 5, relu, true, elu, true, true)
        NNFUSE_BN_INPUT_ENTRY(kSame3x3C3, 5, linear, false, linear, false, false)
        NNFUSE_BN_INPUT_ENTRY(kSame5x5S2, 17, linear, false, relu, true, true)
        NNFUSE_BN_INPUT_ENTRY(kSame5x5S2, 5, elu, true, elu, true, false)
        NNFUSE_BN_INPUT_ENTRY(kValid5x5S2, 17, linear, true, relu, false, true)
        NNFUSE_BN_INPUT_ENTRY(kSame3x3S2C17, 17, linear, false, elu, true, true)
        NNFUSE_BN_INPUT_ENTRY(kSample28, 32, linear, false, relu, true, true)
        NNFUSE_BN_INPUT_ENTRY(kWideBand, 5, linear, false, relu, true, true)
        // clang-format on
    };
#undef NNFUSE_BN_INPUT_ENTRY
    return {HWY_TARGET, entries, sizeof(entries) / sizeof(entries[0])};
}

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <array>
#include <cstring>

#include "hwy/aligned_allocator.h"
#include "runtime/kernels/bn_chunked.hpp"

namespace nnfuse::test {
namespace {

HWY_EXPORT(ConvBnInputKernels);

BnInputTable Table() { return HWY_DYNAMIC_DISPATCH(ConvBnInputKernels)(); }

std::size_t DifferingFloats(const float* a, const float* b, std::size_t count) {
    std::size_t differ = 0;
    for (std::size_t i = 0; i < count; ++i) differ += std::memcmp(a + i, b + i, sizeof(float)) != 0;
    return differ;
}

// The BN's constants: a mean near the data's, inv_std in [0.5, 2], gamma around 1 with both signs present, beta.
struct BnConstants {
    std::vector<float> mean, inv_std, gamma, beta;
    BnConstants(std::size_t channels, std::uint32_t seed) {
        std::mt19937 random(seed);
        mean = RandomUniform(random, channels, 0.3);
        inv_std = RandomUniform(random, channels, 0.75);
        for (float& v : inv_std) v = 1.25f + v;
        gamma = RandomUniform(random, channels, 1.5);
        beta = RandomUniform(random, channels, 0.5);
    }
    std::array<const float*, 4> Pointers(bool scale, bool center) const {
        return {mean.data(), inv_std.data(), scale ? gamma.data() : nullptr, center ? beta.data() : nullptr};
    }
};

hwy::AlignedFreeUniquePtr<float[]> AlignedFloats(std::size_t count, float fill) {
    auto floats = hwy::AllocateAligned<float>(count);
    std::fill(floats.get(), floats.get() + count, fill);
    return floats;
}

TEST_CASE(
    "A Conv2D reading a BN: forward, forward with moments and kernel gradient are the plain kernels' bits on "
    "BnNormalizeChunk's output",
    "[conv][bn_input]") {
    const BnInputTable table = Table();
    for (std::size_t c = 0; c < table.count; ++c) {
        const ConvShape s = table.entries[c].shape;
        for (const std::size_t rows : {1, 3}) {
            INFO(Describe(s, rows) << ", BN " << keras_name(table.entries[c].bn_act) << " scale "
                                   << table.entries[c].scale << " center " << table.entries[c].center);
            const ConvProblem p = MakeConvProblem(s, rows, static_cast<std::uint32_t>(500 * c + rows));
            const BnConstants bn_constants(s.g.channels, static_cast<std::uint32_t>(7 * c + rows));
            const auto bn = bn_constants.Pointers(table.entries[c].scale, table.entries[c].center);
            const float* bias = s.use_bias ? p.bias.data() : nullptr;
            const std::size_t values = rows * s.g.height * s.g.width;
            ForEachTargetTable(Table, [&](const BnInputTable& kernels) {
                const BnInputEntry& e = kernels.entries[c];
                const auto x = GuardedArray<float>::CopyOf(p.x);
                const auto kernel = GuardedArray<float>::CopyOf(p.kernel);
                GuardedArray<float> v(x.size(), kUnwritten);
                e.normalize(x.data(), values, bn[0], bn[1], bn[2], bn[3], v.data());

                GuardedArray<float> y(rows * s.OutputSize(), kUnwritten), plain_y(rows * s.OutputSize(), kUnwritten);
                e.forward(x.data(), bn.data(), rows, kernel.data(), bias, y.data());
                e.plain_forward(v.data(), rows, kernel.data(), bias, plain_y.data());
                CHECK(DifferingFloats(y.data(), plain_y.data(), y.size()) == 0);

                GuardedArray<float> ym(rows * s.OutputSize(), kUnwritten), plain_ym(rows * s.OutputSize(), kUnwritten);
                const std::size_t record_floats = kernels::bn_chunk_moments_floats(s.filters);
                const auto record = AlignedFloats(record_floats, kUnwritten);
                const auto plain_record = AlignedFloats(record_floats, kUnwritten);
                GuardedArray<float> forward_kernel(kernels::forward_kernel_floats(s.g, s.filters), kUnwritten);
                e.prepare(kernel.data(), forward_kernel.data());
                e.with_moments(x.data(), bn.data(), rows, forward_kernel.data(), bias, ym.data(), record.get());
                e.plain_with_moments(v.data(), rows, forward_kernel.data(), bias, plain_ym.data(), plain_record.get());
                CHECK(DifferingFloats(ym.data(), plain_ym.data(), ym.size()) == 0);
                CHECK(DifferingFloats(record.get(), plain_record.get(), record_floats) == 0);

                auto dy = GuardedArray<float>::CopyOf(p.g);
                auto plain_dy = GuardedArray<float>::CopyOf(p.g);
                GuardedArray<float> dkernel(s.KernelSize(), kUnwritten), plain_dkernel(s.KernelSize(), kUnwritten);
                GuardedArray<float> dbias(s.filters, kUnwritten), plain_dbias(s.filters, kUnwritten);
                GuardedArray<float> dx(x.size(), kUnwritten), plain_dx(x.size(), kUnwritten);
                GuardedArray<float> flipped(kernels::flipped_kernel_floats(s.g, s.filters), kUnwritten);
                e.flip(kernel.data(), flipped.data());
                e.backward(x.data(), bn.data(), plain_y.data(), dy.data(), rows, kernel.data(), flipped.data(),
                           dkernel.data(), s.use_bias ? dbias.data() : nullptr, dx.data());
                e.plain_backward(v.data(), plain_y.data(), plain_dy.data(), rows, kernel.data(), flipped.data(),
                                 plain_dkernel.data(), s.use_bias ? plain_dbias.data() : nullptr, plain_dx.data());
                CHECK(DifferingFloats(dkernel.data(), plain_dkernel.data(), dkernel.size()) == 0);
                CHECK(DifferingFloats(dy.data(), plain_dy.data(), dy.size()) == 0);
                CHECK(DifferingFloats(dx.data(), plain_dx.data(), dx.size()) == 0);
                if (s.use_bias) CHECK(DifferingFloats(dbias.data(), plain_dbias.data(), dbias.size()) == 0);
            });
        }
    }
}

TEST_CASE("The BN's backward kernels recomputing y from x give the stored-y kernels' bits", "[bn][bn_input]") {
    const BnInputTable table = Table();
    for (std::size_t c = 0; c < table.count; ++c) {
        const ConvShape s = table.entries[c].shape;
        const std::size_t channels = s.g.channels;
        for (const std::size_t rows : {1, 37, 300}) {  // value rows: under, across and over a statistics block
            INFO("C " << channels << ", rows " << rows << ", BN " << keras_name(table.entries[c].bn_act) << " scale "
                      << table.entries[c].scale << " center " << table.entries[c].center);
            std::mt19937 random(static_cast<std::uint32_t>(900 * c + rows));
            const auto x_values = RandomUniform(random, rows * channels, 1.0);
            const auto dy_values = RandomUniform(random, rows * channels, 1.0);
            const auto coefficient_values = RandomUniform(random, 2 * channels, 0.1);
            const BnConstants bn_constants(channels, static_cast<std::uint32_t>(11 * c + rows));
            const auto bn = bn_constants.Pointers(table.entries[c].scale, table.entries[c].center);
            ForEachTargetTable(Table, [&](const BnInputTable& kernels) {
                const BnInputEntry& e = kernels.entries[c];
                const auto x = GuardedArray<float>::CopyOf(x_values);
                const auto dy = GuardedArray<float>::CopyOf(dy_values);
                const auto coefficients = GuardedArray<float>::CopyOf(coefficient_values);
                GuardedArray<float> y(x.size(), kUnwritten);
                e.normalize(x.data(), rows, bn[0], bn[1], bn[2], bn[3], y.data());

                const std::size_t record_floats = kernels::bn_chunk_moments_floats(channels);
                const auto sums = AlignedFloats(record_floats, 0.0f);
                const auto plain_sums = AlignedFloats(record_floats, 0.0f);
                e.sums_from_x(x.data(), dy.data(), rows, bn.data(), sums.get());
                e.sums(x.data(), y.data(), dy.data(), rows, bn[0], plain_sums.get());
                CHECK(DifferingFloats(sums.get(), plain_sums.get(), 2 * kernels::bn_moments_stride(channels)) == 0);

                GuardedArray<float> dx(x.size(), kUnwritten), plain_dx(x.size(), kUnwritten);
                e.input_gradient_from_x(x.data(), dy.data(), rows, bn.data(), coefficients.data(), dx.data());
                e.input_gradient(x.data(), y.data(), dy.data(), rows, bn[2], bn[0], bn[1], coefficients.data(),
                                 plain_dx.data());
                CHECK(DifferingFloats(dx.data(), plain_dx.data(), dx.size()) == 0);
            });
        }
    }
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
