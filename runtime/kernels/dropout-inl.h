// Inverted dropout (Keras's Dropout(rate) in training), its backward and its inference identity, per SIMD target.
//
// DropoutForward<Features>(x, rows, first_row, rate, seed, step, y):
//   y[r][f] = Keep(seed, step, first_row + r, f) ? x[r][f] * scale : 0     for r < rows, f < Features
// DropoutBackward<Features>(dy, rows, first_row, rate, seed, step, dx):
//   dx[r][f] = Keep(seed, step, first_row + r, f) ? dy[r][f] * scale : 0  (the forward's mask, recomputed)
// DropoutInfer<Features>(x, rows, y): y = x, bit for bit (inference is the identity); nothing to do if y == x.
//   requires: 0 <= rate < 1; arrays are [rows, Features] row-major (Features: the values of one sample, all
//             axes); the output is either the input itself (in place) or does not overlap it.
//   ensures:  scale = float(1 / (1 - rate)), the quotient computed in double and rounded once, and each kept
//             value is the float product of the value and scale (one rounding), as TensorFlow multiplies by
//             1 / (1 - rate) in the input's type. A dropped value is +0.
// The mask depends only on (seed, step, row, f): every SIMD target, thread and split of the rows into calls
// (first_row is the row's index in the whole batch) gives the same bits. Exactly:
//   Mix64(z)  = splitmix64's finalizer (64-bit): z ^= z >> 30; z *= 0xbf58476d1ce4e5b9; z ^= z >> 27;
//               z *= 0x94d049bb133111eb; z ^= z >> 31
//   RowKey    = uint32(Mix64(Mix64(Mix64(seed) ^ step) ^ row))          (once per row, scalar)
//   Mix32(h)  = lowbias32 (32-bit, C. Wellons' hash-prospector): h ^= h >> 16; h *= 0x7feb352d; h ^= h >> 15;
//               h *= 0x846ca68b; h ^= h >> 16
//   Hash      = Mix32(RowKey ^ f)                                        (per value, in SIMD lanes)
//   Keep      = Hash >= Threshold(rate), Threshold(rate) = min(round(rate * 2^32), 2^32 - 1)
// Mix32 is a bijection of the 32-bit integers, so over the values of a row Hash takes distinct, uniformly
// spread values, and P(dropped) = Threshold / 2^32 (within 2^-33 of rate): rate 0 keeps every value (scale 1:
// y = x exactly).
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_DROPOUT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_DROPOUT_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_DROPOUT_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_DROPOUT_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "runtime/kernels/simd_columns-inl.h"  // vector_helpers: LoadFirstN, StoreFirstN

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace dropout_detail {

constexpr std::uint64_t Mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

constexpr std::uint32_t RowKey(std::uint64_t seed, std::uint64_t step, std::uint64_t row) {
    return static_cast<std::uint32_t>(Mix64(Mix64(Mix64(seed) ^ step) ^ row));
}

// round(rate * 2^32): the product is exact in double (a power of two), so only the rounding to an integer rounds.
inline std::uint32_t Threshold(double rate) {
    const double scaled = std::nearbyint(rate * 0x1p32);
    return scaled >= 0x1p32 ? 0xffffffffu : static_cast<std::uint32_t>(scaled);
}

inline float Scale(double rate) { return static_cast<float>(1.0 / (1.0 - rate)); }

template <class DU, class VU = hn::Vec<DU>>
HWY_INLINE VU Mix32(DU du, VU h) {
    h = hn::Xor(h, hn::ShiftRight<16>(h));
    h = hn::Mul(h, hn::Set(du, 0x7feb352du));
    h = hn::Xor(h, hn::ShiftRight<15>(h));
    h = hn::Mul(h, hn::Set(du, 0x846ca68bu));
    return hn::Xor(h, hn::ShiftRight<16>(h));
}

// out[r][f] = Keep(...) ? in[r][f] * scale : 0. `in` and `out` may be the same array: each value is read before
// it is written, and by the same vector.
template <std::size_t Features>
void ApplyMask(const float* in, std::size_t rows, std::uint64_t first_row, double rate, std::uint64_t seed,
               std::uint64_t step, float* out) {
    static_assert(Features >= 1, "a sample has at least one value");
    using vector_helpers::kLanes;
    const vector_helpers::FloatTag d;
    const hn::RebindToUnsigned<decltype(d)> du;
    constexpr std::size_t kFullVectors = Features / kLanes, kTailLanes = Features % kLanes;
    static_assert(Features < (std::size_t{1} << 32), "the value index f is a 32-bit lane");

    const auto threshold = hn::Set(du, Threshold(rate));
    const auto scale = hn::Set(d, Scale(rate));
    const auto lane_index = hn::Iota(du, 0);
    for (std::size_t r = 0; r < rows; ++r) {
        const auto key = hn::Set(du, RowKey(seed, step, first_row + r));
        const float* row_in = in + r * Features;
        float* row_out = out + r * Features;
        // The kept values of one vector whose first value has index `first`.
        const auto masked = [&](std::size_t first, hn::Vec<decltype(d)> values) HWY_ATTR {
            const auto index = hn::Add(lane_index, hn::Set(du, static_cast<std::uint32_t>(first)));
            const auto dropped = hn::RebindMask(d, hn::Gt(threshold, Mix32(du, hn::Xor(key, index))));
            return hn::IfThenZeroElse(dropped, hn::Mul(values, scale));
        };
        for (std::size_t j = 0; j < kFullVectors; ++j) {
            hn::StoreU(masked(j * kLanes, hn::LoadU(d, row_in + j * kLanes)), d, row_out + j * kLanes);
        }
        if constexpr (kTailLanes != 0) {
            constexpr std::size_t first = kFullVectors * kLanes;
            const auto values = vector_helpers::LoadFirstN(d, row_in + first, kTailLanes);
            vector_helpers::StoreFirstN(masked(first, values), d, row_out + first, kTailLanes);
        }
    }
}

}  // namespace dropout_detail

template <std::size_t Features>
void DropoutForward(const float* x, std::size_t rows, std::uint64_t first_row, double rate, std::uint64_t seed,
                    std::uint64_t step, float* y) {
    dropout_detail::ApplyMask<Features>(x, rows, first_row, rate, seed, step, y);
}

template <std::size_t Features>
void DropoutBackward(const float* dy, std::size_t rows, std::uint64_t first_row, double rate, std::uint64_t seed,
                     std::uint64_t step, float* dx) {
    dropout_detail::ApplyMask<Features>(dy, rows, first_row, rate, seed, step, dx);
}

template <std::size_t Features>
void DropoutInfer(const float* x, std::size_t rows, float* y) {
    if (x != y) std::copy(x, x + rows * Features, y);
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_DROPOUT_INL_H_
