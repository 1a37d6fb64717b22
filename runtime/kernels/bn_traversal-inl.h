// How batch normalization's kernels walk a [rows, C] batch, per SIMD target: the shared vocabulary of
// bn_moments-inl.h, bn_columns-inl.h and batch_norm-inl.h (namespace bn_detail).
//
// Blocks: kBlockRows rows whose float partial sums are merged into double accumulators at once.
// Panels: features are processed kPanelFeatures at a time (FeaturePanel), so that per-feature double accumulators
//   fit on the stack (at most 28 KiB); ForEachVector covers a panel's width with whole vectors, then one partial.
// Steps: a pass that needs no second look at its rows steps by StepRows(rows) rows; OutputPassLastStepFirst runs an
//   output pass (y, dx) last step first, so that it starts on what the previous pass left in cache, and streams its
//   stores (non-temporal) where StreamsOutput says so.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_BN_TRAVERSAL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_BN_TRAVERSAL_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_BN_TRAVERSAL_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_BN_TRAVERSAL_INL_H_
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "runtime/cache_line.hpp"
#include "runtime/kernels/bn_chunked.hpp"
#include "runtime/kernels/simd_columns-inl.h"
#include "runtime/kernels/streaming_output.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace bn_detail {

using vector_helpers::LoadColumn;
using vector_helpers::LoadWidened;
using vector_helpers::StoreColumn;
using vector_helpers::StoreNarrowed;
using vector_helpers::StoreOutputColumn;

using DF = hn::ScalableTag<float>;
using DD = hn::ScalableTag<double>;
using DFToDouble = hn::Rebind<float, DD>;  // the floats that widen into one vector of doubles

// Rows whose float partial sums are merged into the double accumulators at once: bounds the float rounding error to
// that of a 128-term sum and keeps one column of a block (8 KiB with AVX-512) in L1 for the block's second pass.
inline constexpr std::size_t kBlockRows = 128;
// Rows per step of a pass over several blocks that needs no second look at its rows (normalize, dx, inference, the
// backward sums): a column then spans few rows (pages) at a time, which the hardware prefetchers stream well.
inline constexpr std::size_t kStreamRows = 8;
// Rows up to which the training forward and the backward go column by column through a batch of several blocks
// (statistics then y; sums then dx): one column of x is then at most 16 KiB with AVX-512, and its second look finds
// it in L1, provided its lines spread over all of L1's sets: a row stride of an odd number of cache lines does
// that, an even one folds the column into a fraction of the sets.
inline constexpr std::size_t kColumnRows = 256;
template <std::size_t C>
inline constexpr bool kColumnsSpreadOverL1 =
    C * sizeof(float) % cache_line_bytes == 0 && C * sizeof(float) / cache_line_bytes % 2 == 1;
// The inference pass goes row by row where a row is a whole number of KiB (C = 256, 512, ...), batches of one block
// too: there one stream of rows runs near memcpy's rate and several rows 1 KiB apart do not, while other widths
// stream best several rows at a time.
template <std::size_t C>
inline constexpr bool kInferRowByRow = C * sizeof(float) % 1024 == 0;
// Features whose double accumulators are on the stack at once (28 bytes each in the forward pass).
inline constexpr std::size_t kPanelFeatures = bn_panel_features;

inline constexpr std::size_t kMaxFloatLanes = hn::MaxLanes(DF());

template <std::size_t C>
inline constexpr std::size_t kPanelWidth = C < kPanelFeatures ? C : kPanelFeatures;
// Stack arrays hold whole vectors, so that per-feature loops need no tail handling.
constexpr std::size_t RoundUpToVectors(std::size_t features) {
    return (features + kMaxFloatLanes - 1) / kMaxFloatLanes * kMaxFloatLanes;
}
template <std::size_t C>
inline constexpr std::size_t kPanelPadded = RoundUpToVectors(kPanelWidth<C>);

// p + offset, or nullptr for an absent array (gamma without Scale, dx when not wanted, ...).
template <class T>
HWY_INLINE T* At(T* p, std::size_t offset) {
    return p == nullptr ? nullptr : p + offset;
}

// Calls op(partial, first, count) for the vectors of d covering [0, width): whole ones with
// partial = std::false_type, then the remainder, if any, with std::true_type.
template <class D, class Op>
HWY_INLINE void ForEachVector(D d, std::size_t width, const Op& op) {
    const std::size_t lanes = hn::Lanes(d);
    const std::size_t full = width - width % lanes;
    for (std::size_t j = 0; j < full; j += lanes) op(std::false_type(), j, lanes);
    if (full < width) op(std::true_type(), full, width - full);
}

// Features [kFirst, kFirst + kWidth) of a C-feature layer; compile-time bounds let the compiler drop
// the partial column where there is none and see that every stack access is in bounds.
template <std::size_t C, std::size_t kFirst>
struct FeaturePanel {
    static constexpr std::size_t kWidth = C - kFirst < kPanelFeatures ? C - kFirst : kPanelFeatures;
    static constexpr std::size_t kPadded = kPanelPadded<C>;
};

inline constexpr std::size_t PanelCount(std::size_t features) {
    return (features + kPanelFeatures - 1) / kPanelFeatures;
}

inline std::size_t StepRows(std::size_t rows) { return rows <= kBlockRows ? rows : kStreamRows; }

// Whether the output pass writes its rows x C output floats at `out` with non-temporal stores: a batch of several
// blocks whose output is bn_streaming_output_bytes or more (streaming_output.hpp), and only where every vector of
// every row is aligned (C a whole number of vectors, `out` vector-aligned), which also means no partial column.
template <std::size_t C>
HWY_INLINE bool StreamsOutput(const float* out, std::size_t rows) {
    const std::size_t vector_bytes = hn::Lanes(DF()) * sizeof(float);
    return rows > kBlockRows && rows * C * sizeof(float) >= bn_streaming_output_bytes &&
           C * sizeof(float) % vector_bytes == 0 && reinterpret_cast<std::uintptr_t>(out) % vector_bytes == 0;
}

// pass(std::true_type()) when `stream`, then a store fence: non-temporal stores are not ordered with later ones, so
// without it a thread told "done" afterwards could read old values. Otherwise pass(std::false_type()).
template <class Pass>
HWY_INLINE void WithStreaming(bool stream, const Pass& pass) {
    if (stream) {
        pass(std::true_type());
        hwy::FlushStream();
    } else {
        pass(std::false_type());
    }
}

// The output pass (y, dx) of a panel over several blocks: steps of StepRows rows, last step first (the rows the
// first pass read last are still in cache), each step's columns in order, streaming where StreamsOutput says so.
// column(stream, partial, j, at, step_rows, count) makes the panel's column j of the step whose first element is
// at offset `at` of the [rows, C] arrays.
template <std::size_t C, std::size_t kFirst, std::size_t kWidth, class Column>
HWY_INLINE void OutputPassLastStepFirst(std::size_t rows, const float* out, const Column& column) {
    const std::size_t step_rows = StepRows(rows);
    WithStreaming(StreamsOutput<C>(out, rows), [&](auto stream) HWY_ATTR {
        for (std::size_t step = (rows + step_rows - 1) / step_rows; step-- > 0;) {
            const std::size_t r0 = step * step_rows;
            const std::size_t block_rows = std::min(step_rows, rows - r0);
            ForEachVector(DF(), kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
                column(stream, partial, j, r0 * C + kFirst + j, block_rows, count);
            });
        }
    });
}

}  // namespace bn_detail

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_BN_TRAVERSAL_INL_H_
