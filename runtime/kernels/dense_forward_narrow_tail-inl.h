// DenseForward's last column block when its last vector is narrow, per SIMD target (Highway): the head units
// broadcast x as the micro-kernel does, the few tail units are dot products along In with full-width vectors.
//
// NarrowTailForward<In, Units, kHeadVectors, kTailUnits, UseBias>(x, rows, kernel, bias, y)
//   requires: kNarrowTailPays<In, kHeadVectors, kTailUnits>; x, kernel, bias, y as for DenseForward (dense-inl.h);
//             the block is the last kHeadVectors * kLanes + kTailUnits units.
//   ensures:  y[r, u] = x[r] . kernel[:, u] + bias[u] for every row r and every unit u of the block, before any
//             activation (DenseForward applies it to whole rows afterwards). rows == 0 touches nothing. Reads nothing
//             outside the arrays; no heap (the transposed tail columns, at most 16 KiB, live on the stack).
// Uses gemm-inl.h's blocking helpers (namespace dense_detail); DenseForward (dense-inl.h) calls it.
//
// Why: Units = 20 on AVX-512 is one 16-lane vector and one 4-lane vector per broadcast of x. On AMD Zen 4 a 512-bit
// multiply-add occupies both 256-bit FMA pipes and a 128-bit one still takes a whole pipe, so the 4-lane vector
// costs half a 16-lane one for a quarter of its work. Along In every vector is full: the 4 tail units cost 4
// multiply-adds per 16 inputs, not 8, and all lanes are useful. DenseForward<784, 20> went from 72% to 92-94% of the
// FMA peak on Zen 4 (bench/dense_kernels, 64 and 256 rows).
// How: per block of rows and per 16 inputs k0, tail[r][j] += x[r, k0:k0+16] * kernel^T[j, k0:k0+16] (the tail
// columns transposed once per call, zero-padded to whole vectors), and for each of those 16 inputs the head
// multiply-adds of the broadcast scheme: x is streamed once for both. Each row's tail accumulators are reduced
// across lanes once, at the end of the row block (a transpose-add, 4 units per 128-bit result).

#if defined(NNFUSE_RUNTIME_KERNELS_DENSE_FORWARD_NARROW_TAIL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_DENSE_FORWARD_NARROW_TAIL_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_DENSE_FORWARD_NARROW_TAIL_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_DENSE_FORWARD_NARROW_TAIL_INL_H_
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "runtime/kernels/gemm-inl.h"
#include "runtime/kernels/simd_columns-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace dense_detail {

// AVX-512 only, the target measured: its 32 registers hold 4 rows of 1 head and 4 tail accumulators for
// Units = 20; AVX2's 16 would leave 2 rows per block, half the multiply-adds per loaded kernel vector.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
inline constexpr bool kNarrowTailTarget = true;
#else
inline constexpr bool kNarrowTailTarget = false;
#endif
// Tails of 1 to 4 units, which the broadcast scheme puts in a 128-bit vector (the reduction yields one, too); a tail
// of 5 to 8 takes a 256-bit vector, which costs Zen 4 half a 512-bit one: 3 lanes of 8 wasted at worst.
inline constexpr std::size_t kMaxTailUnits = 4;
// Below this depth the per-row reduction and the per-call transposition weigh on too few multiply-adds.
inline constexpr std::size_t kMinNarrowTailInputs = 4 * kLanes;
// Accumulator registers of a row block: head and tail ones, with the 4 tail columns' vectors, a row's x vector and
// a head vector besides (32 registers). 20 for Units = 20: 4 rows of 1 head + 4 tail accumulators.
inline constexpr std::size_t kNarrowTailAccumulators = 24;
// The transposed tail columns on the stack: 16 KiB, half of L1 (784 inputs x 4 units take 12.5 KiB).
inline constexpr std::size_t kMaxTailTileFloats = 4096;

template <std::size_t In, std::size_t kHeadVectors, std::size_t kTailUnits>
inline constexpr bool kNarrowTailPays = (kNarrowTailTarget && kTailUnits <= kMaxTailUnits &&
                                         In >= kMinNarrowTailInputs &&
                                         kTailUnits * vector_helpers::VectorsFor(In) * kLanes <= kMaxTailTileFloats);

#if HWY_TARGET == HWY_SCALAR  // no shuffles for the reduction; never chosen there, declared for DenseForward's branch
template <std::size_t In, std::size_t Units, std::size_t kHeadVectors, std::size_t kTailUnits, bool UseBias>
void NarrowTailForward(const float* HWY_RESTRICT x, std::size_t rows, const float* HWY_RESTRICT kernel,
                       const float* HWY_RESTRICT bias, float* HWY_RESTRICT y);
#else

using BlockTag = hn::CappedTag<float, 4>;  // one 128-bit block

// The sum of v's 128-bit blocks, as one 128-bit vector.
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

template <std::size_t In, std::size_t Units, std::size_t kHeadVectors, std::size_t kTailUnits, bool UseBias>
HWY_INLINE void NarrowTailForward(const float* HWY_RESTRICT x, std::size_t rows, const float* HWY_RESTRICT kernel,
                                  [[maybe_unused]] const float* HWY_RESTRICT bias, float* HWY_RESTRICT y) {
    static_assert(kNarrowTailPays<In, kHeadVectors, kTailUnits>, "NarrowTailForward: see kNarrowTailPays");
    constexpr std::size_t kTailFirst = Units - kTailUnits;
    constexpr std::size_t kHeadFirst = kTailFirst - kHeadVectors * kLanes;
    constexpr std::size_t kFullDepth = In / kLanes * kLanes;  // inputs in whole vectors
    constexpr std::size_t kTileStride = vector_helpers::VectorsFor(In) * kLanes;
    constexpr std::size_t kRowsPerBlock =
        std::clamp<std::size_t>(kNarrowTailAccumulators / (kHeadVectors + kTailUnits), 1, kMaxBlockRows);
    if (rows == 0) return;

    HWY_ALIGN float tail_columns[kTailUnits * kTileStride];  // kernel^T[kTailFirst + j, k] at j * kTileStride + k
    Transpose<In, kTailUnits, Units, kTileStride>(kernel + kTailFirst, tail_columns);
    if constexpr (kTileStride != In) {  // the last chunk's masked x lanes are 0, but 0 * garbage may be NaN
        for (std::size_t j = 0; j < kTailUnits; ++j) {
            std::fill(tail_columns + j * kTileStride + In, tail_columns + (j + 1) * kTileStride, 0.0f);
        }
    }

    const FloatTag d;
    constexpr std::size_t kHeadArray = std::max<std::size_t>(kHeadVectors, 1);  // no zero-length arrays
    V head_bias[kHeadArray];
    vector_helpers::Unroll<kHeadVectors>([&](auto h) __attribute__((always_inline)) {
        head_bias[h] = UseBias ? hn::LoadU(d, bias + kHeadFirst + h * kLanes) : hn::Zero(d);
    });
    ForEachRowBlock<kRowsPerBlock>(rows, [&]<std::size_t kRows>(std::size_t first_row) {
        const float* HWY_RESTRICT x_rows = x + first_row * In;
        V head[kRows][kHeadArray];
        V tail[kRows][kTailUnits];
        vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) {
            vector_helpers::Unroll<kHeadVectors>([&](auto h)
                                                     __attribute__((always_inline)) { head[i][h] = head_bias[h]; });
            vector_helpers::Unroll<kTailUnits>([&](auto j)
                                                   __attribute__((always_inline)) { tail[i][j] = hn::Zero(d); });
        });
        // kDepth inputs from k0 (kLanes, or the partial last chunk): the tail's vectors along In, then the head's
        // broadcasts of the same inputs.
        const auto chunk = [&]<std::size_t kDepth>(std::size_t k0) __attribute__((always_inline)) {
            vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) {
                const V x_vector = vector_helpers::LoadFirstN(d, x_rows + i * In + k0, kDepth);
                vector_helpers::Unroll<kTailUnits>([&](auto j) __attribute__((always_inline)) {
                    tail[i][j] = hn::MulAdd(x_vector, hn::Load(d, tail_columns + j * kTileStride + k0), tail[i][j]);
                });
            });
            // Unrolled: otherwise a counter and a branch per input for kRows multiply-adds (a few percent, measured).
#pragma GCC unroll 16
            for (std::size_t k = k0; k < k0 + kDepth; ++k) {
                const float* HWY_RESTRICT kernel_row = kernel + k * Units + kHeadFirst;
                V b[kHeadArray];
                vector_helpers::Unroll<kHeadVectors>([&](auto h) __attribute__((always_inline)) {
                    b[h] = hn::LoadU(d, kernel_row + h * kLanes);
                });
                vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) {
                    const V a = hn::Set(d, x_rows[i * In + k]);
                    vector_helpers::Unroll<kHeadVectors>([&](auto h) __attribute__((always_inline)) {
                        head[i][h] = hn::MulAdd(a, b[h], head[i][h]);
                    });
                });
            }
        };
        for (std::size_t k0 = 0; k0 < kFullDepth; k0 += kLanes) chunk.template operator()<kLanes>(k0);
        if constexpr (kFullDepth != In) chunk.template operator()<In - kFullDepth>(kFullDepth);

        const BlockTag d4;
        const auto tail_bias = UseBias ? vector_helpers::LoadFirstN(d4, bias + kTailFirst, kTailUnits) : hn::Zero(d4);
        vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) {
            float* HWY_RESTRICT y_row = y + (first_row + i) * Units;
            vector_helpers::Unroll<kHeadVectors>([&](auto h) __attribute__((always_inline)) {
                hn::StoreU(head[i][h], d, y_row + kHeadFirst + h * kLanes);
            });
            vector_helpers::StoreFirstN(hn::Add(SumLanesOfEach(tail[i]), tail_bias), d4, y_row + kTailFirst,
                                        kTailUnits);
        });
    });
}

#endif  // HWY_TARGET == HWY_SCALAR

}  // namespace dense_detail

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_DENSE_FORWARD_NARROW_TAIL_INL_H_
