// DenseForward for long inputs, per SIMD target (Highway): every output a dot product along In with full-width
// vectors, one partial sum per lane.
//
// ForwardAlongInputs<In, Units, UseBias>(x, rows, kernel, bias, y)
//   requires: kForwardAlongInputs<In, Units>; x, kernel, bias, y as for DenseForward (dense-inl.h).
//   ensures:  y[r, u] = x[r] . kernel[:, u] + bias[u] for every row r and unit u, before any activation (DenseForward
//             applies it to whole rows afterwards). Lane l of an accumulator sums the inputs k = l (mod kLanes) in
//             order, one fused multiply-add each; the lanes are then added as a tree (SumLanesOfEach) and the bias
//             last. rows == 0 touches nothing. Reads nothing outside the arrays; no heap (a group's transposed
//             kernel columns, at most kMaxGroupTileFloats, live on the stack).
// Uses gemm-inl.h's helpers (namespace dense_detail); DenseForward (dense-inl.h) calls it.
//
// Why: a dot product of In terms added one after another carries an error bound of In units in the last place, and
// an offset common to the inputs turns that into a visible loss (the reference layer's 784 terms); kLanes partial
// sums cut the bound to In / kLanes + log2(kLanes) (Higham, 2002, section 4.2 on blocked summation). It is also the
// faster order where Units is not a multiple of the vector width: every multiply-add has all its lanes useful,
// where broadcasting x over 20 units costs one 16-lane and one 4-lane vector for 20 lanes of work.
// How: per group of kGroupUnits units, the group's kernel columns are transposed once into a stack tile, zero-padded
// to whole vectors; per block of rows and per kLanes inputs, each row's x vector is loaded once and multiplied with
// each column vector of the tile. Each (row, unit) accumulator is reduced across lanes at the end of the block.

#if defined(NNFUSE_RUNTIME_KERNELS_DENSE_FORWARD_ALONG_INPUTS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_DENSE_FORWARD_ALONG_INPUTS_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_DENSE_FORWARD_ALONG_INPUTS_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_DENSE_FORWARD_ALONG_INPUTS_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "runtime/kernels/dense_along_inputs.hpp"
#include "runtime/kernels/gemm-inl.h"
#include "runtime/kernels/simd_columns-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace dense_detail {

// Units per group: SumLanesOfEach reduces up to 4 accumulators into one 128-bit result.
inline constexpr std::size_t kGroupUnits = 4;
// Rows per block: kGroupUnits accumulators a row, one x vector a row and one column vector at a time in registers,
// which the compiler keeps there (vector_helpers::KeepInRegister: GCC otherwise folds a reload of x into every
// multiply-add, 24 loads per 20 multiply-adds rather than 9): 32 on AVX-512, 4 x 4 + 4 + 1, 8 loads per 16
// multiply-adds, and a 64-row chunk splits into whole blocks; 16 elsewhere, 2 x 4 + 2 + 1, leaving room for the
// compiler.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
inline constexpr std::size_t kAlongInputsRows = 4;
#else
inline constexpr std::size_t kAlongInputsRows = 2;
#endif
inline constexpr std::size_t kMinAlongInputs = dense_min_along_inputs;
// The transposed columns of one group on the stack: 64 KiB at most (In <= 4096).
inline constexpr std::size_t kMaxGroupTileFloats = 16384;

// DenseForward's choice: along the inputs where broadcasting x over the units would leave a quarter or more of the
// lanes idle (Units = 20 on AVX-512: 32 lanes for 20 units); the broadcast scheme, with its own partial sums, where
// the units fill the vectors (it then runs near the FMA peak, and the per-call transposition would cost more).
template <std::size_t In, std::size_t Units>
inline constexpr bool kForwardAlongInputs =
    In >= kMinAlongInputs &&
    4 * Units < 3 * vector_helpers::VectorsFor(Units) * kLanes&& kGroupUnits* vector_helpers::VectorsFor(In) * kLanes
        <= kMaxGroupTileFloats;

#if HWY_TARGET != HWY_SCALAR

using BlockTag = hn::CappedTag<float, 4>;  // one 128-bit block

// The sum of v's 128-bit blocks, as one 128-bit vector: upper half added to lower half until one block is left.
template <class D>
HWY_INLINE hn::Vec<BlockTag> SumBlocks(D d, hn::Vec<D> v) {
    if constexpr (hn::MaxLanes(d) <= 4) {
        return v;
    } else {
        const hn::Half<D> half;
        return SumBlocks(half, hn::Add(hn::LowerHalf(half, v), hn::UpperHalf(half, v)));
    }
}

// Lane j of the result is the sum of the lanes of v[j] (j < kCount <= 4); the other lanes are 0. A 4 x 4
// transpose-add within each 128-bit block, then the blocks added: 13 shuffles and adds for 4 vectors, where 4
// SumOfLanes take twice that and leave 4 scalars to gather.
template <std::size_t kCount>
HWY_INLINE hn::Vec<BlockTag> SumLanesOfEach(const V (&v)[kCount]) {
    static_assert(kCount >= 1 && kCount <= 4, "SumLanesOfEach: one to four vectors");
    const FloatTag d;
    const hn::Repartition<std::uint64_t, FloatTag> d64;
    V a[4];  // v, then zeros
    vector_helpers::Unroll<4>([&](auto j) __attribute__((always_inline)) {
        if constexpr (decltype(j)::value < kCount) {
            a[j] = v[j];
        } else {
            a[j] = hn::Zero(d);
        }
    });
    // Per block: [a0_0 + a0_2, a1_0 + a1_2, a0_1 + a0_3, a1_1 + a1_3], and the same for a2, a3.
    const V t01 = hn::Add(hn::InterleaveLower(d, a[0], a[1]), hn::InterleaveUpper(d, a[0], a[1]));
    const V t23 = hn::Add(hn::InterleaveLower(d, a[2], a[3]), hn::InterleaveUpper(d, a[2], a[3]));
    // Per block: lane j = that block's part of the sum of a_j.
    const auto q01 = hn::BitCast(d64, t01), q23 = hn::BitCast(d64, t23);
    const V sums =
        hn::Add(hn::BitCast(d, hn::InterleaveLower(d64, q01, q23)), hn::BitCast(d, hn::InterleaveUpper(d64, q01, q23)));
    return SumBlocks(d, sums);
}

// Units [first_unit, first_unit + kUnits) of every row, kUnits <= kGroupUnits, from their columns of kernel^T:
// column j's In floats at columns + j * kStride. kPadded: each column is zero-padded to whole vectors (a stack
// tile); otherwise the last partial chunk of a column is loaded masked (kernel^T itself).
template <std::size_t In, std::size_t Units, std::size_t kUnits, std::size_t kStride, bool kPadded, bool UseBias>
HWY_INLINE void ForwardGroup(const float* HWY_RESTRICT x, std::size_t rows, const float* HWY_RESTRICT columns,
                             [[maybe_unused]] const float* HWY_RESTRICT bias, std::size_t first_unit,
                             float* HWY_RESTRICT y) {
    constexpr std::size_t kFullDepth = In / kLanes * kLanes;  // inputs in whole vectors
    const FloatTag d;
    const BlockTag d4;
    const auto group_bias = UseBias ? vector_helpers::LoadFirstN(d4, bias + first_unit, kUnits) : hn::Zero(d4);
    ForEachRowBlock<kAlongInputsRows>(rows, [&]<std::size_t kRows>(std::size_t first_row) {
        const float* HWY_RESTRICT x_rows = x + first_row * In;
        V acc[kRows][kUnits];
        vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) {
            vector_helpers::Unroll<kUnits>([&](auto j) __attribute__((always_inline)) { acc[i][j] = hn::Zero(d); });
        });
        // kDepth inputs from k0: kLanes, or the partial last chunk (its x lanes past In load as 0).
        const auto chunk = [&]<std::size_t kDepth>(std::size_t k0) __attribute__((always_inline)) {
            V x_vectors[kRows];
            vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) {
                x_vectors[i] = vector_helpers::LoadFirstN(d, x_rows + i * In + k0, kDepth);
                vector_helpers::KeepInRegister(x_vectors[i]);
            });
            vector_helpers::Unroll<kUnits>([&](auto j) __attribute__((always_inline)) {
                const float* HWY_RESTRICT column = columns + j * kStride + k0;
                V w =
                    kPadded || kDepth == kLanes ? hn::LoadU(d, column) : vector_helpers::LoadFirstN(d, column, kDepth);
                vector_helpers::KeepInRegister(w);
                vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) {
                    acc[i][j] = hn::MulAdd(x_vectors[i], w, acc[i][j]);
                });
            });
        };
        for (std::size_t k0 = 0; k0 < kFullDepth; k0 += kLanes) chunk.template operator()<kLanes>(k0);
        if constexpr (kFullDepth != In) chunk.template operator()<In - kFullDepth>(kFullDepth);
        vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) {
            vector_helpers::StoreFirstN(hn::Add(SumLanesOfEach(acc[i]), group_bias), d4,
                                        y + (first_row + i) * Units + first_unit, kUnits);
        });
    });
}

template <std::size_t In, std::size_t Units, bool UseBias>
HWY_INLINE void ForwardAlongInputs(const float* HWY_RESTRICT x, std::size_t rows, const float* HWY_RESTRICT kernel,
                                   const float* HWY_RESTRICT bias, float* HWY_RESTRICT y) {
    static_assert(kForwardAlongInputs<In, Units>, "ForwardAlongInputs: see kForwardAlongInputs");
    constexpr std::size_t kTileStride = vector_helpers::VectorsFor(In) * kLanes;
    if (rows == 0) return;
    ForEachUnitChunk<Units, kGroupUnits>([&](std::size_t first_unit, auto group_units) {
        HWY_ALIGN float columns[group_units * kTileStride];  // kernel^T[first_unit + j, k] at j * kTileStride + k
        Transpose<In, group_units, Units, kTileStride>(kernel + first_unit, columns);
        if constexpr (kTileStride != In) {  // the last chunk's masked x lanes are 0, but 0 * garbage may be NaN
            for (std::size_t j = 0; j < group_units; ++j) {
                std::fill(columns + j * kTileStride + In, columns + (j + 1) * kTileStride, 0.0f);
            }
        }
        ForwardGroup<In, Units, group_units, kTileStride, /*kPadded=*/true, UseBias>(x, rows, columns, bias, first_unit,
                                                                                     y);
    });
}

template <std::size_t In, std::size_t Units, bool UseBias>
HWY_INLINE void ForwardFromTransposedKernel(const float* HWY_RESTRICT x, std::size_t rows,
                                            const float* HWY_RESTRICT kernel_t, const float* HWY_RESTRICT bias,
                                            float* HWY_RESTRICT y) {
    ForEachUnitChunk<Units, kGroupUnits>([&](std::size_t first_unit, auto group_units) {
        ForwardGroup<In, Units, group_units, In, /*kPadded=*/false, UseBias>(x, rows, kernel_t + first_unit * In, bias,
                                                                             first_unit, y);
    });
}

#else  // HWY_SCALAR: one lane, no shuffles; kScalarPartialSums partial sums in scalar code instead

inline constexpr std::size_t kScalarPartialSums = 8;

// x . column with column[k] at column[k * kStride]: partial sum p accumulates the inputs k = p (mod 8) in order, then
// the partial sums are added pairwise.
template <std::size_t In, std::size_t kStride>
float DotAlongInputs(const float* HWY_RESTRICT x, const float* HWY_RESTRICT column) {
    float partial[kScalarPartialSums] = {};
    for (std::size_t k = 0; k < In; ++k) {
        partial[k % kScalarPartialSums] = std::fma(x[k], column[k * kStride], partial[k % kScalarPartialSums]);
    }
    for (std::size_t half = kScalarPartialSums / 2; half > 0; half /= 2) {
        for (std::size_t p = 0; p < half; ++p) partial[p] += partial[p + half];
    }
    return partial[0];
}

template <std::size_t In, std::size_t Units, bool UseBias>
void ForwardFromTransposedKernel(const float* HWY_RESTRICT x, std::size_t rows, const float* HWY_RESTRICT kernel_t,
                                 const float* HWY_RESTRICT bias, float* HWY_RESTRICT y) {
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t u = 0; u < Units; ++u) {
            const float sum = DotAlongInputs<In, 1>(x + r * In, kernel_t + u * In);
            y[r * Units + u] = UseBias ? sum + bias[u] : sum;
        }
    }
}

template <std::size_t In, std::size_t Units, bool UseBias>
void ForwardAlongInputs(const float* HWY_RESTRICT x, std::size_t rows, const float* HWY_RESTRICT kernel,
                        const float* HWY_RESTRICT bias, float* HWY_RESTRICT y) {
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t u = 0; u < Units; ++u) {
            const float sum = DotAlongInputs<In, Units>(x + r * In, kernel + u);
            y[r * Units + u] = UseBias ? sum + bias[u] : sum;
        }
    }
}

#endif  // HWY_TARGET != HWY_SCALAR

}  // namespace dense_detail

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_DENSE_FORWARD_ALONG_INPUTS_INL_H_
