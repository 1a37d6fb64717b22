// Keras's Add of two equal-shaped inputs, per SIMD target: a residual block's join (y = block(x) + x), and the sum
// of a residual input's two gradients in backward.
//
// AddForward<Size>(a, b, rows, y): y[i] = a[i] + b[i] for i < rows * Size, one float addition each (exactly a + b
//   rounded once, so the order of the operands does not matter and every target gives the same bits).
//   requires: arrays of rows * Size floats (Size: the values of one sample, all axes); y is a or b itself (in place:
//             each value is read before it is written, by the same vector) or overlaps neither.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_ADD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_ADD_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_ADD_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_ADD_INL_H_
#endif

#include <cstddef>

#include "hwy/highway.h"
#include "runtime/kernels/simd_columns-inl.h"  // vector_helpers: LoadFirstN, StoreFirstN

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <std::size_t Size>
void AddForward(const float* a, const float* b, std::size_t rows, float* y) {
    static_assert(Size >= 1, "a sample has at least one value");
    using vector_helpers::kLanes;
    const vector_helpers::FloatTag d;
    // The rows are contiguous: one run of rows * Size values, whole vectors then the tail.
    const std::size_t count = rows * Size, whole = count - count % kLanes;
    for (std::size_t i = 0; i < whole; i += kLanes) {
        hn::StoreU(hn::Add(hn::LoadU(d, a + i), hn::LoadU(d, b + i)), d, y + i);
    }
    if (whole != count) {
        const std::size_t tail = count - whole;
        const auto sum =
            hn::Add(vector_helpers::LoadFirstN(d, a + whole, tail), vector_helpers::LoadFirstN(d, b + whole, tail));
        vector_helpers::StoreFirstN(sum, d, y + whole, tail);
    }
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_ADD_INL_H_
