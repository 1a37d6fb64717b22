// Dense (fully connected) layer, forward and backward, per SIMD target (Highway).
//
// DenseForward<In, Units, Act, UseBias>(x, rows, kernel, bias, y)
//   requires: x [rows, In]; kernel [In, Units] (Keras's layout); bias [Units], nullptr when !UseBias;
//             y [rows, Units], overlapping no input. Row-major float32, any alignment; rows may be 0.
//   ensures:  y = Act(x . kernel + bias). Act is element-wise: softmax is not (a model's last softmax is fused with
//             the loss, SoftmaxCrossEntropy in softmax_xent-inl.h, and predict applies nnfuse::softmax_rows).
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
// Design: the three matrix products share gemm-inl.h's register-blocked micro-kernel,
//   acc[R rows][C vectors] += A(i, p) * B(p, columns):
//   y         = x . kernel      A = x (depth: inputs)        vectors along Units
//   dkernel^T = dz^T . x        A = dz^T (depth: batch rows)  vectors along In; the result goes through a stack
//                                                             tile transposed into dkernel (when In >= Units; else
//                                                             dkernel = x^T . dz with vectors along Units)
//   dx        = dz . kernel^T   A = dz (depth: units)         vectors along In; B = slices of the kernel (whose
//                                                             columns are strided) transposed into a stack tile
// The forward activation and the backward Act' are element-wise passes over the contiguous [rows, Units] arrays.
// Long dot products keep partial sums. The forward of a layer of 128 inputs or more whose units would leave a quarter
// of the broadcast vectors' lanes idle (Units = 20 on AVX-512) runs along In instead, one partial sum per lane
// (dense_forward_along_inputs-inl.h); the broadcast scheme sums blocks of kDepthBlock inputs.
// DenseForwardTransposedKernel<In, Units, Act, UseBias>(x, rows, kernel_t, bias, y)
//   requires: as DenseForward, with kernel_t [Units, In] (kernel transposed; BnFoldIntoDenseTransposed writes it).
//   ensures:  y = Act(x . kernel_t^T + bias), always along In; the same bits as DenseForward where that runs along In
//             too. No transposition per call: the training forward of a folded layer, whose copy is made once a step.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_DENSE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_DENSE_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_DENSE_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_DENSE_INL_H_
#endif

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "dsl/activation.hpp"
#include "hwy/highway.h"
#include "runtime/kernels/activation-inl.h"
#include "runtime/kernels/dense_forward_along_inputs-inl.h"
#include "runtime/kernels/gemm-inl.h"
#include "runtime/kernels/simd_columns-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace dense_detail {

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

// Inputs per partial sum of the broadcast scheme: a dot product longer than this is summed block by block, each
// block's sum added to the output (Higham 2002, 4.2: the error bound falls from In to kDepthBlock + In / kDepthBlock
// roundings); 6 partial sums for 784 inputs, for one load, add and store per accumulator and block. The conv forward
// (conv2d-inl.h) cuts its patches into pieces of at most this length too.
inline constexpr std::size_t kDepthBlock = 128;

// y = x . kernel + bias with x broadcast over blocks of units (gemm-inl.h's micro-kernel): each output's inputs
// are added in order, one fused multiply-add each, from the bias for the first kDepthBlock inputs and from zero for
// each further block, whose sum is then added to the output.
template <std::size_t In, std::size_t Units, bool UseBias>
HWY_INLINE void ForwardBroadcast(const float* HWY_RESTRICT x, std::size_t rows, const float* HWY_RESTRICT kernel,
                                 [[maybe_unused]] const float* HWY_RESTRICT bias, float* HWY_RESTRICT y) {
    ForEachColumnBlock<Units, kMaxBlockVectors>([&]<class Block>(std::size_t first_unit) {
        const Block initial = UseBias ? LoadBlock<Block>(bias + first_unit) : ZeroBlock<Block>();
        ForEachRowBlock<RowsPerBlock(Block::kCount)>(rows, [&]<std::size_t kRows>(std::size_t first_row) {
            const float* HWY_RESTRICT x_rows = x + first_row * In;
            float* HWY_RESTRICT out = y + first_row * Units + first_unit;
            Block acc[kRows];
            vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) { acc[i] = initial; });
            MultiplyAccumulate</*kARowStride=*/In, /*kADepthStride=*/1, /*kBRowStride=*/Units, /*kBPadded=*/false>(
                x_rows, kernel + first_unit, std::min(In, kDepthBlock), acc);
            StoreRows<Units>(acc, out);
            for (std::size_t k0 = kDepthBlock; k0 < In; k0 += kDepthBlock) {
                vector_helpers::Unroll<kRows>([&](auto i)
                                                  __attribute__((always_inline)) { acc[i] = ZeroBlock<Block>(); });
                MultiplyAccumulate<In, 1, Units, /*kBPadded=*/false>(x_rows + k0, kernel + k0 * Units + first_unit,
                                                                     std::min(In - k0, kDepthBlock), acc);
                vector_helpers::Unroll<kRows>([&](auto i) __attribute__((always_inline)) {
                    const Block sum = LoadBlock<Block>(out + i * Units);
                    vector_helpers::Unroll<Block::kCount>([&](auto j) __attribute__((always_inline)) {
                        acc[i][j] = hn::Add(sum[j], acc[i][j]);
                    });
                });
                StoreRows<Units>(acc, out);
            }
        });
    });
}

}  // namespace dense_detail

template <std::size_t In, std::size_t Units, activation_kind Act, bool UseBias>
void DenseForward(const float* HWY_RESTRICT x, std::size_t rows, const float* HWY_RESTRICT kernel,
                  [[maybe_unused]] const float* HWY_RESTRICT bias, float* HWY_RESTRICT y) {
    static_assert(In >= 1 && Units >= 1, "DenseForward: In and Units must be positive");
    static_assert(Act != activation_kind::softmax,
                  "DenseForward: softmax is not element-wise; train on linear logits with SoftmaxCrossEntropy");
    using namespace dense_detail;
    if constexpr (kForwardAlongInputs<In, Units>) {
        ForwardAlongInputs<In, Units, UseBias>(x, rows, kernel, bias, y);
    } else {
        ForwardBroadcast<In, Units, UseBias>(x, rows, kernel, bias, y);
    }
    if constexpr (Act != activation_kind::linear) ActivateInPlace<Act>(y, rows * Units);
}

template <std::size_t In, std::size_t Units, activation_kind Act, bool UseBias>
void DenseForwardTransposedKernel(const float* HWY_RESTRICT x, std::size_t rows, const float* HWY_RESTRICT kernel_t,
                                  [[maybe_unused]] const float* HWY_RESTRICT bias, float* HWY_RESTRICT y) {
    static_assert(In >= 1 && Units >= 1, "DenseForwardTransposedKernel: In and Units must be positive");
    static_assert(Act != activation_kind::softmax,
                  "DenseForwardTransposedKernel: softmax is not element-wise; train on linear logits with "
                  "SoftmaxCrossEntropy");
    dense_detail::ForwardFromTransposedKernel<In, Units, UseBias>(x, rows, kernel_t, bias, y);
    if constexpr (Act != activation_kind::linear) dense_detail::ActivateInPlace<Act>(y, rows * Units);
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
