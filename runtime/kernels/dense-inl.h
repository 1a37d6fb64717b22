// Dense (fully connected) layer, forward and backward, per SIMD target (Highway).
//
// DenseForward<In, Units, Act, UseBias>(x, rows, kernel, bias, y)
//   requires: x [rows, In]; kernel [In, Units] (Keras's layout); bias [Units], nullptr when !UseBias;
//             y [rows, Units], overlapping no input. Row-major float32, any alignment; rows may be 0.
//   ensures:  y = Act(x . kernel + bias). Act == softmax: each row of y is the softmax of its logits (row maximum
//             subtracted first), for inference and predict; training computes linear logits and uses
//             SoftmaxCrossEntropy (softmax_xent-inl.h) instead.
// DenseBackward<In, Units, Act, UseBias>(x, y, dy, rows, kernel, dkernel, dbias, dx)
//   requires: Act is element-wise (not softmax: the loss handles it); y [rows, Units] is the forward output
//             (nullptr allowed when Act is linear); dy [rows, Units] is dL/dy; dkernel [In, Units]; dbias [Units],
//             nullptr when !UseBias; dx [rows, In] or nullptr (the first layer needs no input gradient). The outputs
//             overlap no input and one another.
//   ensures:  dy holds dz = dy * Act'(z) (DerivativeFromOutput of y); dkernel = x^T . dz; dbias = column sums of dz;
//             dx = dz . kernel^T, not computed when dx == nullptr. Gradients are overwritten, never accumulated;
//             rows == 0 gives zero dkernel and dbias.
// Neither allocates on the heap (stack buffers have compile-time sizes), and neither reads or writes outside its
// arrays: partial vectors use masked or lane-by-lane access (vector_helpers::LoadFirstN / StoreFirstN).
//
// Design: the three matrix products share one register-blocked micro-kernel,
//   acc[R rows][C vectors] += A(i, p) * B(p, columns),
// A broadcast one float at a time, B loaded as C vectors across the output columns, the accumulators in registers
// for the whole depth loop (R x C sized to the target's register file; a partial last vector uses the narrowest
// vector type that holds it):
//   y         = x . kernel      A = x (depth: inputs)        vectors along Units
//   dkernel^T = dz^T . x        A = dz^T (depth: batch rows)  vectors along In; the result goes through a stack
//                                                             tile transposed into dkernel (when In >= Units; else
//                                                             dkernel = x^T . dz with vectors along Units)
//   dx        = dz . kernel^T   A = dz (depth: units)         vectors along In; B = slices of the kernel (whose
//                                                             columns are strided) transposed into a stack tile
// The forward activation and the backward Act' are element-wise passes over the contiguous [rows, Units] arrays.
// On AVX-512 a last forward block whose last vector is narrow (Units = 20: 16 + 4 lanes) computes those few units as
// dot products along In instead: dense_forward_narrow_tail-inl.h.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_DENSE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_DENSE_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_DENSE_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_DENSE_INL_H_
#endif

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "dsl/activation.hpp"
#include "hwy/highway.h"
#include "runtime/kernels/activation-inl.h"
#include "runtime/kernels/softmax_xent-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace dense_detail {

using vector_helpers::FloatTag;
using vector_helpers::kLanes;
using V = hn::Vec<FloatTag>;

// Vector registers the accumulators may take: AVX-512 has 32, the other targets 16; the rest hold the B vectors
// and the broadcast A value.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
inline constexpr std::size_t kAccumulatorRegisters = 24;
#else
inline constexpr std::size_t kAccumulatorRegisters = 12;
#endif
// Widest column block (in vectors) and tallest row block of the micro-kernel.
inline constexpr std::size_t kMaxBlockVectors = 4;
inline constexpr std::size_t kMaxBlockRows = 8;
// Floats in the stack tile that holds a transposed slice (of the kernel for dx, of dkernel^T for dkernel): 4 KiB,
// which stays in L1 next to the rows being streamed.
inline constexpr std::size_t kTransposedTileFloats = 1024;

constexpr std::size_t RowsPerBlock(std::size_t vectors) {
    return std::clamp<std::size_t>(kAccumulatorRegisters / vectors, 1, kMaxBlockRows);
}

// kCount vectors (none for kCount == 0, rather than an unused element that copies would read uninitialized).
template <std::size_t kCount, class Vector>
struct VectorArray {
    Vector at[kCount];
};
template <class Vector>
struct VectorArray<0, Vector> {};

// The vectors spanning one row of a column block: kVectors - 1 full vectors, then the last in the narrowest vector
// type that holds its kLastLanes lanes. Units = 20 on AVX-512 is 16 lanes + 4 lanes (a 128-bit vector) rather than
// 2 x 16 lanes with 12 wasted: on CPUs that split 512-bit operations in two (AMD Zen 4) that saves a quarter of the
// multiply-adds' cycles. Indexed by std::integral_constant (vector_helpers::Unroll's index): the last element has its
// own type.
template <std::size_t kVectors, std::size_t kLastLanes>
struct BlockVectors {
    static constexpr std::size_t kCount = kVectors;
    static constexpr std::size_t kColumns = (kVectors - 1) * kLanes + kLastLanes;
    using LastTag = hn::CappedTag<float, std::bit_ceil(kLastLanes)>;
    template <std::size_t kIndex>
    using Tag = std::conditional_t<kIndex + 1 == kVectors, LastTag, FloatTag>;
    static constexpr std::size_t ValidLanes(std::size_t index) { return index + 1 == kVectors ? kLastLanes : kLanes; }

    [[no_unique_address]] VectorArray<kVectors - 1, V> leading;
    hn::Vec<LastTag> last;

    template <std::size_t kIndex>
    HWY_INLINE auto& operator[](std::integral_constant<std::size_t, kIndex>) {
        if constexpr (kIndex + 1 == kVectors) {
            return last;
        } else {
            return leading.at[kIndex];
        }
    }
    template <std::size_t kIndex>
    HWY_INLINE const auto& operator[](std::integral_constant<std::size_t, kIndex>) const {
        if constexpr (kIndex + 1 == kVectors) {
            return last;
        } else {
            return leading.at[kIndex];
        }
    }
};

// The tag of element `Index` (a std::integral_constant) of a BlockVectors.
template <class Block, class Index>
using TagOf = typename Block::template Tag<Index::value>;

// Splits kColumns output columns into blocks of at most kMaxVectors vectors and calls
// body.template operator()<BlockVectors<...>>(first_column) for each: full blocks in a run-time loop, then at most
// one narrower block whose last vector may be partial or narrow. Two instantiations at most.
template <std::size_t kColumns, std::size_t kMaxVectors, class Body>
HWY_INLINE void ForEachColumnBlock(const Body& body) {
    constexpr std::size_t kFullBlockColumns = kMaxVectors * kLanes;
    constexpr std::size_t kFullBlocks = kColumns / kFullBlockColumns;
    for (std::size_t block = 0; block < kFullBlocks; ++block) {
        body.template operator()<BlockVectors<kMaxVectors, kLanes>>(block * kFullBlockColumns);
    }
    constexpr std::size_t kRest = kColumns % kFullBlockColumns;
    if constexpr (kRest != 0) {
        using RestBlock = BlockVectors<vector_helpers::VectorsFor(kRest), vector_helpers::LastVectorLanes(kRest)>;
        body.template operator()<RestBlock>(kFullBlocks * kFullBlockColumns);
    }
}

// Covers count rows with blocks of kRows, kRows/2, ..., 1: a remainder after full blocks costs log2(kRowsPerBlock)
// instantiations of the micro-kernel rather than one per possible height, and most of it still runs in tall blocks.
template <std::size_t kRows, class Body>
HWY_INLINE void ForRemainingRows(std::size_t count, std::size_t first_row, const Body& body) {
    if constexpr (kRows > 0) {
        for (; count >= kRows; count -= kRows, first_row += kRows) body.template operator()<kRows>(first_row);
        ForRemainingRows<kRows / 2>(count, first_row, body);
    }
}

// Splits `rows` into blocks of kRowsPerBlock and calls body.template operator()<kRows>(first_row) for each; the
// remainder gets compile-time heights too, so every block's accumulators stay in registers.
template <std::size_t kRowsPerBlock, class Body>
HWY_INLINE void ForEachRowBlock(std::size_t rows, const Body& body) {
    std::size_t first_row = 0;
    for (; first_row + kRowsPerBlock <= rows; first_row += kRowsPerBlock) {
        body.template operator()<kRowsPerBlock>(first_row);
    }
    ForRemainingRows<kRowsPerBlock / 2>(rows - first_row, first_row, body);
}

// Splits kUnits into chunks of kChunkUnits and a shorter last one, calling
// body(first_unit, std::integral_constant<std::size_t, units_in_chunk>()): every chunk's size is a constant.
template <std::size_t kUnits, std::size_t kChunkUnits, class Body>
HWY_INLINE void ForEachUnitChunk(const Body& body) {
    for (std::size_t first_unit = 0; first_unit + kChunkUnits <= kUnits; first_unit += kChunkUnits) {
        body(first_unit, std::integral_constant<std::size_t, kChunkUnits>());
    }
    constexpr std::size_t kLastChunkUnits = kUnits % kChunkUnits;
    if constexpr (kLastChunkUnits != 0) {
        body(kUnits - kLastChunkUnits, std::integral_constant<std::size_t, kLastChunkUnits>());
    }
}

// The lowest lanes of v in the narrower tag DTo (free on x86: the narrower register aliases the wider one).
template <class DTo, class VFrom>
HWY_INLINE hn::Vec<DTo> LowerLanes(DTo d_to, VFrom v) {
    if constexpr (std::is_same_v<VFrom, hn::Vec<DTo>>) {
        return v;
    } else {
        return LowerLanes(d_to, hn::LowerHalf(v));
    }
}

// Element `index` of a block row starting at p. kPadded: the memory holds whole vectors (a zero-padded tile), so
// the last one is loaded whole; otherwise nothing past its valid lanes is read.
template <class Block, bool kPadded, class Index>
HWY_INLINE hn::Vec<TagOf<Block, Index>> LoadBlockVector(Index index, const float* HWY_RESTRICT p) {
    const TagOf<Block, Index> d;
    if constexpr (kPadded) {
        return hn::LoadU(d, p + index * kLanes);
    } else {
        return vector_helpers::LoadFirstN(d, p + index * kLanes, Block::ValidLanes(index));
    }
}

template <class Block>
HWY_INLINE Block LoadBlock(const float* HWY_RESTRICT p) {
    Block values;
    vector_helpers::Unroll<Block::kCount>([&](auto j) __attribute__((always_inline)) {
        values[j] = LoadBlockVector<Block, false>(j, p);
    });
    return values;
}

template <class Block>
HWY_INLINE Block ZeroBlock() {
    Block zeros;
    vector_helpers::Unroll<Block::kCount>([&](auto j) __attribute__((always_inline)) {
        zeros[j] = hn::Zero(TagOf<Block, decltype(j)>());
    });
    return zeros;
}

template <class Block>
HWY_INLINE void StoreBlock(const Block& values, float* HWY_RESTRICT p) {
    vector_helpers::Unroll<Block::kCount>([&](auto j) __attribute__((always_inline)) {
        vector_helpers::StoreFirstN(values[j], TagOf<Block, decltype(j)>(), p + j * kLanes, Block::ValidLanes(j));
    });
}

// The micro-kernel: acc[i][j] += sum over p < depth of A(i, p) * B(p, vector j), where
// A(i, p) = a[i * kARowStride + p * kADepthStride] and row p of B starts at b + p * kBRowStride.
template <std::size_t kARowStride, std::size_t kADepthStride, std::size_t kBRowStride, bool kBPadded, std::size_t kRows,
          class Block>
HWY_INLINE void MultiplyAccumulate(const float* HWY_RESTRICT a, const float* HWY_RESTRICT b, std::size_t depth,
                                   Block (&acc)[kRows]) {
    for (std::size_t p = 0; p < depth; ++p, a += kADepthStride, b += kBRowStride) {
        Block b_vectors;
        vector_helpers::Unroll<Block::kCount>([&](auto j) __attribute__((always_inline)) {
            b_vectors[j] = LoadBlockVector<Block, kBPadded>(j, b);
        });
        vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) {
            const V a_value = hn::Set(FloatTag(), a[i * kARowStride]);
            vector_helpers::Unroll<Block::kCount>([&](auto j) __attribute__((always_inline)) {
                acc[i][j] = hn::MulAdd(LowerLanes(TagOf<Block, decltype(j)>(), a_value), b_vectors[j], acc[i][j]);
            });
        });
    }
}

// out row i (at out + i * kOutRowStride) = acc[i], for the valid lanes only.
template <std::size_t kOutRowStride, std::size_t kRows, class Block>
HWY_INLINE void StoreRows(const Block (&acc)[kRows], float* HWY_RESTRICT out) {
    vector_helpers::Unroll<kRows>([&](auto i)
                                      __attribute__((always_inline)) { StoreBlock(acc[i], out + i * kOutRowStride); });
}

// values[i] = Act(values[i]) for i < count. A separate pass over the just-written (cache-resident) output rather
// than inside the micro-kernel's epilogue: one inlined copy of the activation instead of one per accumulator of
// every block height, for a cost of one load and store per vector against In multiply-adds.
template <activation_kind Act>
HWY_INLINE void ActivateInPlace(float* HWY_RESTRICT values, std::size_t count) {
    const FloatTag d;
    std::size_t i = 0;
    for (; i + kLanes <= count; i += kLanes) hn::StoreU(Activate<Act>(d, hn::LoadU(d, values + i)), d, values + i);
    if (i < count) {
        const std::size_t rest = count - i;
        vector_helpers::StoreFirstN(Activate<Act>(d, vector_helpers::LoadFirstN(d, values + i, rest)), d, values + i,
                                    rest);
    }
}

// dy[i] *= Act'(y[i]) for i < count, the derivative taken from the output.
template <activation_kind Act>
HWY_INLINE void ChainActivationDerivative(const float* HWY_RESTRICT y, float* HWY_RESTRICT dy, std::size_t count) {
    const FloatTag d;
    std::size_t i = 0;
    for (; i + kLanes <= count; i += kLanes) {
        hn::StoreU(hn::Mul(hn::LoadU(d, dy + i), DerivativeFromOutput<Act>(d, hn::LoadU(d, y + i))), d, dy + i);
    }
    if (i < count) {
        const std::size_t rest = count - i;
        const V derivative = DerivativeFromOutput<Act>(d, vector_helpers::LoadFirstN(d, y + i, rest));
        vector_helpers::StoreFirstN(hn::Mul(vector_helpers::LoadFirstN(d, dy + i, rest), derivative), d, dy + i, rest);
    }
}

// sums[u] = sum over rows of values[r, u].
template <std::size_t Units>
HWY_INLINE void SumColumns(const float* HWY_RESTRICT values, std::size_t rows, float* HWY_RESTRICT sums) {
    ForEachColumnBlock<Units, kMaxBlockVectors>([&]<class Block>(std::size_t first_column) {
        Block block_sums = ZeroBlock<Block>();
        for (std::size_t r = 0; r < rows; ++r) {
            const Block row = LoadBlock<Block>(values + r * Units + first_column);
            vector_helpers::Unroll<Block::kCount>([&](auto j) __attribute__((always_inline)) {
                block_sums[j] = hn::Add(block_sums[j], row[j]);
            });
        }
        StoreBlock(block_sums, sums + first_column);
    });
}

// dst[c * kDstStride + r] = src[r * kSrcStride + c] for r < kRows, c < kColumns: 4 x 4 blocks transposed in
// 128-bit registers (4 loads, 8 shuffles, 4 stores for 16 floats), the edges one float at a time.
template <std::size_t kRows, std::size_t kColumns, std::size_t kSrcStride, std::size_t kDstStride>
HWY_INLINE void Transpose(const float* HWY_RESTRICT src, float* HWY_RESTRICT dst) {
#if HWY_TARGET == HWY_SCALAR  // no shuffles
    constexpr std::size_t kBlockRows = 0, kBlockColumns = 0;
#else
    constexpr std::size_t kBlock = 4;
    constexpr std::size_t kBlockRows = kRows / kBlock * kBlock, kBlockColumns = kColumns / kBlock * kBlock;
    const hn::CappedTag<float, kBlock> d4;
    for (std::size_t r = 0; r < kBlockRows; r += kBlock) {
        const float* s = src + r * kSrcStride;
        for (std::size_t c = 0; c < kBlockColumns; c += kBlock) {
            const auto row0 = hn::LoadU(d4, s + c), row1 = hn::LoadU(d4, s + kSrcStride + c);
            const auto row2 = hn::LoadU(d4, s + 2 * kSrcStride + c), row3 = hn::LoadU(d4, s + 3 * kSrcStride + c);
            const auto rows01_low = hn::InterleaveLower(d4, row0, row1);  // r0c0 r1c0 r0c1 r1c1
            const auto rows23_low = hn::InterleaveLower(d4, row2, row3);
            const auto rows01_high = hn::InterleaveUpper(d4, row0, row1);  // r0c2 r1c2 r0c3 r1c3
            const auto rows23_high = hn::InterleaveUpper(d4, row2, row3);
            float* t = dst + c * kDstStride + r;
            hn::StoreU(hn::ConcatLowerLower(d4, rows23_low, rows01_low), d4, t);
            hn::StoreU(hn::ConcatUpperUpper(d4, rows23_low, rows01_low), d4, t + kDstStride);
            hn::StoreU(hn::ConcatLowerLower(d4, rows23_high, rows01_high), d4, t + 2 * kDstStride);
            hn::StoreU(hn::ConcatUpperUpper(d4, rows23_high, rows01_high), d4, t + 3 * kDstStride);
        }
    }
#endif
    // The edges, one float at a time: the columns right of the 4 x 4 blocks, then the rows below them.
    for (std::size_t r = 0; r < kBlockRows; ++r) {
        for (std::size_t c = kBlockColumns; c < kColumns; ++c) dst[c * kDstStride + r] = src[r * kSrcStride + c];
    }
    for (std::size_t r = kBlockRows; r < kRows; ++r) {
        for (std::size_t c = 0; c < kColumns; ++c) dst[c * kDstStride + r] = src[r * kSrcStride + c];
    }
}

// True when the weight gradient is better computed transposed, dkernel^T[u, k], with vectors along In: then only
// the In tail is partial, against one partial vector per Units (20 units on AVX-512: 16 + 4 lanes per row of
// dkernel, where 784 inputs fill 49 vectors exactly). The transposition costs one float per weight, against
// 2 * rows flops per weight for the product.
template <std::size_t In, std::size_t Units>
inline constexpr bool kKernelGradientAlongInputs = In >= Units;

// dkernel[k, u] = sum over rows r of x[r, k] * dz[r, u], vectorized along Units: blocks of kernel rows (inputs)
// times blocks of units, stored straight into dkernel.
template <std::size_t In, std::size_t Units>
HWY_INLINE void KernelGradientAlongUnits(const float* HWY_RESTRICT x, const float* HWY_RESTRICT dz, std::size_t rows,
                                         float* HWY_RESTRICT dkernel) {
    ForEachColumnBlock<Units, kMaxBlockVectors>([&]<class Block>(std::size_t first_unit) {
        const Block zeros = ZeroBlock<Block>();
        ForEachRowBlock<RowsPerBlock(Block::kCount)>(In, [&]<std::size_t kRows>(std::size_t first_input) {
            Block acc[kRows];
            vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) { acc[i] = zeros; });
            MultiplyAccumulate</*kARowStride=*/1, /*kADepthStride=*/In, /*kBRowStride=*/Units, /*kBPadded=*/false>(
                x + first_input, dz + first_unit, rows, acc);
            StoreRows<Units>(acc, dkernel + first_input * Units + first_unit);
        });
    });
}

// The same product vectorized along In: dkernel^T[u, k] = sum over rows r of dz[r, u] * x[r, k], computed for a block
// of inputs and a chunk of units into a stack tile, then transposed into dkernel.
template <std::size_t In, std::size_t Units>
HWY_INLINE void KernelGradientAlongInputs(const float* HWY_RESTRICT x, const float* HWY_RESTRICT dz, std::size_t rows,
                                          float* HWY_RESTRICT dkernel) {
    constexpr std::size_t kBlockVectors =
        std::clamp<std::size_t>(kTransposedTileFloats / (Units * kLanes), 1, kMaxBlockVectors);
    ForEachColumnBlock<In, kBlockVectors>([&]<class Block>(std::size_t first_input) {
        constexpr std::size_t kTileColumns = Block::kCount * kLanes;
        constexpr std::size_t kChunkUnits = std::min(Units, kTransposedTileFloats / kTileColumns);
        HWY_ALIGN float tile[kChunkUnits * kTileColumns];
        const Block zeros = ZeroBlock<Block>();
        ForEachUnitChunk<Units, kChunkUnits>([&](std::size_t first_unit, auto chunk_units) {
            ForEachRowBlock<RowsPerBlock(Block::kCount)>(chunk_units, [&]<std::size_t kRows>(std::size_t first_row) {
                Block acc[kRows];
                vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) { acc[i] = zeros; });
                MultiplyAccumulate</*kARowStride=*/1, /*kADepthStride=*/Units, /*kBRowStride=*/In,
                                   /*kBPadded=*/false>(dz + first_unit + first_row, x + first_input, rows, acc);
                StoreRows<kTileColumns>(acc, tile + first_row * kTileColumns);
            });
            Transpose<chunk_units, Block::kColumns, kTileColumns, Units>(tile,
                                                                         dkernel + first_input * Units + first_unit);
        });
    });
}

// dx[r, k] = sum over units u of dz[r, u] * kernel[k, u]: blocks of inputs (as wide as the transposed tile allows)
// times blocks of batch rows. The kernel's columns are strided, so each block's slice of kernel^T is first
// transposed into a stack tile; units beyond one tile's capacity are accumulated chunk by chunk into dx.
template <std::size_t In, std::size_t Units>
HWY_INLINE void InputGradient(const float* HWY_RESTRICT dz, std::size_t rows, const float* HWY_RESTRICT kernel,
                              float* HWY_RESTRICT dx) {
    constexpr std::size_t kBlockVectors =
        std::clamp<std::size_t>(kTransposedTileFloats / (Units * kLanes), 1, kMaxBlockVectors);
    ForEachColumnBlock<In, kBlockVectors>([&]<class Block>(std::size_t first_input) {
        constexpr std::size_t kTileColumns = Block::kCount * kLanes;
        constexpr std::size_t kChunkUnits = std::min(Units, kTransposedTileFloats / kTileColumns);
        HWY_ALIGN float tile[kChunkUnits * kTileColumns];
        if constexpr (Block::kColumns < kTileColumns) {  // the micro-kernel loads whole tile vectors: zero padding
            for (std::size_t p = 0; p < kChunkUnits; ++p) {
                std::fill(tile + p * kTileColumns + Block::kColumns, tile + (p + 1) * kTileColumns, 0.0f);
            }
        }
        const Block zeros = ZeroBlock<Block>();
        ForEachUnitChunk<Units, kChunkUnits>([&](std::size_t first_unit, auto chunk_units) {
            Transpose<Block::kColumns, chunk_units, Units, kTileColumns>(kernel + first_input * Units + first_unit,
                                                                         tile);
            ForEachRowBlock<RowsPerBlock(Block::kCount)>(rows, [&]<std::size_t kRows>(std::size_t first_row) {
                float* out = dx + first_row * In + first_input;
                Block acc[kRows];
                vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) {
                    acc[i] = first_unit == 0 ? zeros : LoadBlock<Block>(out + i * In);
                });
                MultiplyAccumulate</*kARowStride=*/Units, /*kADepthStride=*/1, kTileColumns, /*kBPadded=*/true>(
                    dz + first_row * Units + first_unit, tile, chunk_units, acc);
                StoreRows<In>(acc, out);
            });
        });
    });
}

}  // namespace dense_detail

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

// Between the helpers it uses and DenseForward, which calls it.
#include "runtime/kernels/dense_forward_narrow_tail-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {

template <std::size_t In, std::size_t Units, activation_kind Act, bool UseBias>
void DenseForward(const float* HWY_RESTRICT x, std::size_t rows, const float* HWY_RESTRICT kernel,
                  [[maybe_unused]] const float* HWY_RESTRICT bias, float* HWY_RESTRICT y) {
    static_assert(In >= 1 && Units >= 1, "DenseForward: In and Units must be positive");
    using namespace dense_detail;
    ForEachColumnBlock<Units, kMaxBlockVectors>([&]<class Block>(std::size_t first_unit) {
        constexpr std::size_t kHeadVectors = Block::kCount - 1;
        constexpr std::size_t kLastLanes = Block::kColumns - kHeadVectors * kLanes;
        if constexpr (kNarrowTailPays<In, kHeadVectors, kLastLanes>) {  // then the block ends the row
            NarrowTailForward<In, Units, kHeadVectors, kLastLanes, UseBias>(x, rows, kernel, bias, y);
        } else {
            const Block initial = UseBias ? LoadBlock<Block>(bias + first_unit) : ZeroBlock<Block>();
            ForEachRowBlock<RowsPerBlock(Block::kCount)>(rows, [&]<std::size_t kRows>(std::size_t first_row) {
                Block acc[kRows];
                vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) { acc[i] = initial; });
                MultiplyAccumulate</*kARowStride=*/In, /*kADepthStride=*/1, /*kBRowStride=*/Units,
                                   /*kBPadded=*/false>(x + first_row * In, kernel + first_unit, In, acc);
                StoreRows<Units>(acc, y + first_row * Units + first_unit);
            });
        }
    });
    if constexpr (Act == activation_kind::softmax) {
        SoftmaxRows<Units>(y, rows);  // needs whole rows: normalizes the stored logits in place
    } else if constexpr (Act != activation_kind::linear) {
        ActivateInPlace<Act>(y, rows * Units);
    }
}

template <std::size_t In, std::size_t Units, activation_kind Act, bool UseBias>
void DenseBackward(const float* HWY_RESTRICT x, [[maybe_unused]] const float* HWY_RESTRICT y, float* HWY_RESTRICT dy,
                   std::size_t rows, const float* HWY_RESTRICT kernel, float* HWY_RESTRICT dkernel,
                   [[maybe_unused]] float* HWY_RESTRICT dbias, float* HWY_RESTRICT dx) {
    static_assert(In >= 1 && Units >= 1, "DenseBackward: In and Units must be positive");
    static_assert(Act != activation_kind::softmax,
                  "DenseBackward: softmax is not element-wise; train on linear logits with SoftmaxCrossEntropy");
    using namespace dense_detail;
    if constexpr (Act != activation_kind::linear) ChainActivationDerivative<Act>(y, dy, rows * Units);
    const float* dz = dy;
    if constexpr (UseBias) SumColumns<Units>(dz, rows, dbias);
    if constexpr (kKernelGradientAlongInputs<In, Units>) {
        KernelGradientAlongInputs<In, Units>(x, dz, rows, dkernel);
    } else {
        KernelGradientAlongUnits<In, Units>(x, dz, rows, dkernel);
    }
    if (dx != nullptr) InputGradient<In, Units>(dz, rows, kernel, dx);
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_DENSE_INL_H_
