// A register-blocked matrix-product micro-kernel and its blocking helpers, per SIMD target (Highway), shared by
// the dense kernels (dense-inl.h, dense_forward_narrow_tail-inl.h) in namespace dense_detail.
//
// MultiplyAccumulate<kARowStride, kADepthStride, kBRowStride, kBPadded>(a, b, depth, acc):
//   acc[R rows][C vectors] += A(i, p) * B(p, columns) for p < depth, A broadcast one float at a time, B loaded as C
//   vectors across the output columns; the accumulators stay in registers for the whole depth loop (R x C sized
//   to the target's register file by RowsPerBlock).
// BlockVectors<kVectors, kLastLanes>: the vectors of one row of a column block; the last is the narrowest vector
//   type holding its lanes. ForEachColumnBlock / ForEachRowBlock / ForEachBalancedRowBlock / ForEachUnitChunk split
//   a product into blocks whose sizes are compile-time constants. LoadBlock / StoreBlock / StoreRows never touch memory
//   past the valid lanes (vector_helpers::LoadFirstN / StoreFirstN).
// Transpose<kRows, kColumns, kSrcStride, kDstStride>(src, dst): dst[c, r] = src[r, c], 4 x 4 blocks in registers.
// Nothing here allocates on the heap.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_GEMM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_GEMM_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_GEMM_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_GEMM_INL_H_
#endif

#include <algorithm>
#include <bit>
#include <cstddef>
#include <type_traits>

#include "hwy/highway.h"
#include "runtime/kernels/simd_columns-inl.h"

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

// Blocks ForEachRowBlock<kMaxRows> makes of count rows (full blocks, then halves for the remainder).
constexpr std::size_t RowBlockCount(std::size_t count, std::size_t max_rows) {
    std::size_t blocks = count / max_rows;
    for (std::size_t rows = max_rows / 2, rest = count % max_rows; rows > 0; rest %= rows, rows /= 2) {
        blocks += rest / rows;
    }
    return blocks;
}

// As ForEachRowBlock<kMaxRows>(kCount, body) for a count known at compile time, but when blocks of nearly equal
// height (differing by one) need fewer of them, those: 14 rows under 6 are 5 + 5 + 4 rather than 6 + 6 + 1 + 1,
// whose one-row blocks do one multiply-add per B vector loaded. Each row's sum is the same whatever the blocking.
template <std::size_t kCount, std::size_t kMaxRows, class Body>
HWY_INLINE void ForEachBalancedRowBlock(const Body& body) {
    constexpr std::size_t kBlocks = (kCount + kMaxRows - 1) / kMaxRows;
    if constexpr (kCount > 0 && kBlocks < RowBlockCount(kCount, kMaxRows)) {
        constexpr std::size_t kShort = kCount / kBlocks, kTall = kCount % kBlocks;  // kTall blocks of kShort + 1
        for (std::size_t block = 0; block < kTall; ++block) body.template operator()<kShort + 1>(block * (kShort + 1));
        for (std::size_t block = kTall; block < kBlocks; ++block) {
            body.template operator()<kShort>(kTall * (kShort + 1) + (block - kTall) * kShort);
        }
    } else {
        ForEachRowBlock<kMaxRows>(kCount, body);
    }
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

}  // namespace dense_detail

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_GEMM_INL_H_
