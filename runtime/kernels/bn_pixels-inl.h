// Batch normalization's training forward read straight from a uint8 image set, per SIMD target (Highway): the
// first BN of a model that takes pixels, with no float copy of the batch. Chunk by chunk, as bn_chunked-inl.h.
//
// BnChunkMomentsFromPixels<C>(pixels, rows, count, scale, moments)
//   requires: rows[0 .. count) index rows of C bytes in pixels; 1 <= count <= max_pixel_chunk_rows; moments holds
//             bn_chunk_moments_floats(C) floats (bn_chunked.hpp), 64-byte aligned.
//   ensures:  moments = the chunk's moments in BnChunkMoments's form (center, sum(x - center), sum((x - center)^2))
//             of x = pixel * scale, from exact integer sums of the pixels and their squares: no rounding but the
//             final one of each value to float. BnMergeChunkMoments merges them as any chunk's.
// BnNormalizePixelRows<C>(pixels, rows, count, scale, batch_mean, inv_std, xhat)
//   requires: as above; xhat [count, C].
//   ensures:  xhat[r] = (float(pixel) * scale - batch_mean) * inv_std, row r of the chunk: the value
//             gather_pixel_rows then BnNormalizeRows give, in one pass.
// No heap allocation. Include inside HWY_NAMESPACE machinery like any Highway -inl.h.

#if defined(NNFUSE_RUNTIME_KERNELS_BN_PIXELS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_BN_PIXELS_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_BN_PIXELS_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_BN_PIXELS_INL_H_
#endif

#include <array>
#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "runtime/kernels/bn_chunked.hpp"

#ifndef NNFUSE_BN_PIXELS_LIMITS
#define NNFUSE_BN_PIXELS_LIMITS
namespace nnfuse::kernels {
// The sum of squares of a chunk's pixels of one feature is kept in int32: 255^2 * 33025 < 2^31.
inline constexpr std::size_t max_pixel_chunk_rows = 33025;
}  // namespace nnfuse::kernels
#endif

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace bn_pixels_detail {

using DI = hn::ScalableTag<std::int32_t>;
using DU8 = hn::Rebind<std::uint8_t, DI>;
using DF = hn::Rebind<float, DI>;
using DD = hn::ScalableTag<double>;
using DI_HALF = hn::Rebind<std::int32_t, DD>;
using DF_HALF = hn::Rebind<float, DD>;

// Vectors of features summed per pass over the rows: 4 x 16 pixels on AVX-512, one cache line of each row.
inline constexpr std::size_t kVectorsPerPass = 4;

// sum[j], sum_sq[j] = the sums of the pixels and of their squares of feature j over the chunk's rows, for the
// features in whole vectors; the rest are summed by the caller.
template <std::size_t C>
HWY_INLINE std::size_t SumPixelVectors(const std::uint8_t* HWY_RESTRICT pixels, const std::uint32_t* rows,
                                       std::size_t count, std::int32_t* HWY_RESTRICT sum,
                                       std::int32_t* HWY_RESTRICT sum_sq) {
    const DI di;
    const DU8 du8;
    const std::size_t lanes = hn::Lanes(di);
    const std::size_t pass = kVectorsPerPass * lanes;
    const std::size_t whole_passes = C - C % pass, whole_vectors = C - C % lanes;
    std::size_t j = 0;
    for (; j < whole_passes; j += pass) {
        auto s0 = hn::Zero(di), s1 = hn::Zero(di), s2 = hn::Zero(di), s3 = hn::Zero(di);
        auto q0 = hn::Zero(di), q1 = hn::Zero(di), q2 = hn::Zero(di), q3 = hn::Zero(di);
        for (std::size_t r = 0; r < count; ++r) {
            const std::uint8_t* row = pixels + std::size_t{rows[r]} * C + j;
            const auto v0 = hn::PromoteTo(di, hn::LoadU(du8, row));
            const auto v1 = hn::PromoteTo(di, hn::LoadU(du8, row + lanes));
            const auto v2 = hn::PromoteTo(di, hn::LoadU(du8, row + 2 * lanes));
            const auto v3 = hn::PromoteTo(di, hn::LoadU(du8, row + 3 * lanes));
            s0 = hn::Add(s0, v0);
            s1 = hn::Add(s1, v1);
            s2 = hn::Add(s2, v2);
            s3 = hn::Add(s3, v3);
            q0 = hn::Add(q0, hn::Mul(v0, v0));
            q1 = hn::Add(q1, hn::Mul(v1, v1));
            q2 = hn::Add(q2, hn::Mul(v2, v2));
            q3 = hn::Add(q3, hn::Mul(v3, v3));
        }
        hn::Store(s0, di, sum + j);
        hn::Store(s1, di, sum + j + lanes);
        hn::Store(s2, di, sum + j + 2 * lanes);
        hn::Store(s3, di, sum + j + 3 * lanes);
        hn::Store(q0, di, sum_sq + j);
        hn::Store(q1, di, sum_sq + j + lanes);
        hn::Store(q2, di, sum_sq + j + 2 * lanes);
        hn::Store(q3, di, sum_sq + j + 3 * lanes);
    }
    for (; j < whole_vectors; j += lanes) {
        auto s = hn::Zero(di), q = hn::Zero(di);
        for (std::size_t r = 0; r < count; ++r) {
            const auto v = hn::PromoteTo(di, hn::LoadU(du8, pixels + std::size_t{rows[r]} * C + j));
            s = hn::Add(s, v);
            q = hn::Add(q, hn::Mul(v, v));
        }
        hn::Store(s, di, sum + j);
        hn::Store(q, di, sum_sq + j);
    }
    return j;
}

}  // namespace bn_pixels_detail

template <std::size_t C>
void BnChunkMomentsFromPixels(const std::uint8_t* HWY_RESTRICT pixels, const std::uint32_t* HWY_RESTRICT rows,
                              std::size_t count, float scale, float* HWY_RESTRICT moments) {
    static_assert(C > 0, "batch normalization needs at least one feature");
    namespace detail = bn_pixels_detail;
    constexpr std::size_t kStride = bn_moments_stride(C);
    // Whole vectors of doubles past C read zeros here, and write only into the moments' padding.
    alignas(64) std::array<std::int32_t, kStride> sum{}, sum_sq{};
    std::size_t j = detail::SumPixelVectors<C>(pixels, rows, count, sum.data(), sum_sq.data());
    for (; j < C; ++j) {
        for (std::size_t r = 0; r < count; ++r) {
            const std::int32_t v = pixels[std::size_t{rows[r]} * C + j];
            sum[j] += v;
            sum_sq[j] += v * v;
        }
    }
    // With x = pixel * scale, mean = scale * S / n and sum((x - mean)^2) = scale^2 * (Q - S^2 / n); both in double
    // (S^2 / n has 2^-53 relative error at most, far below float's). The center is the mean rounded to float, so the
    // deviations from it follow exactly: sum(x - c) = n (mean - c), sum((x - c)^2) = M2 + n (mean - c)^2.
    float* center = moments;
    float* sum_dev = moments + kStride;
    float* sum_sq_dev = moments + 2 * kStride;
    const detail::DD dd;
    const detail::DI_HALF di;
    const detail::DF_HALF df;
    const auto n = hn::Set(dd, static_cast<double>(count));
    const auto inv_n = hn::Set(dd, 1.0 / static_cast<double>(count));
    const auto scale_v = hn::Set(dd, static_cast<double>(scale));
    for (std::size_t f = 0; f < C; f += hn::Lanes(dd)) {
        const auto s = hn::PromoteTo(dd, hn::LoadU(di, sum.data() + f));
        const auto q = hn::PromoteTo(dd, hn::LoadU(di, sum_sq.data() + f));
        const auto mean = hn::Mul(hn::Mul(s, inv_n), scale_v);
        const auto m2 = hn::Mul(hn::Mul(hn::NegMulAdd(hn::Mul(s, inv_n), s, q), scale_v), scale_v);
        const auto c = hn::DemoteTo(df, mean);
        const auto offset = hn::Sub(mean, hn::PromoteTo(dd, c));
        hn::StoreU(c, df, center + f);
        hn::StoreU(hn::DemoteTo(df, hn::Mul(n, offset)), df, sum_dev + f);
        hn::StoreU(hn::DemoteTo(df, hn::MulAdd(hn::Mul(n, offset), offset, m2)), df, sum_sq_dev + f);
    }
}

template <std::size_t C>
void BnNormalizePixelRows(const std::uint8_t* HWY_RESTRICT pixels, const std::uint32_t* HWY_RESTRICT rows,
                          std::size_t count, float scale, const float* HWY_RESTRICT batch_mean,
                          const float* HWY_RESTRICT inv_std, float* HWY_RESTRICT xhat) {
    static_assert(C > 0, "batch normalization needs at least one feature");
    namespace detail = bn_pixels_detail;
    const detail::DF df;
    const detail::DI di;
    const detail::DU8 du8;
    const std::size_t lanes = hn::Lanes(df);
    const auto scale_v = hn::Set(df, scale);
    for (std::size_t r = 0; r < count; ++r) {
        const std::uint8_t* HWY_RESTRICT row = pixels + std::size_t{rows[r]} * C;
        float* HWY_RESTRICT out = xhat + r * C;
        const std::size_t whole_vectors = C - C % lanes;
        for (std::size_t j = 0; j < whole_vectors; j += lanes) {
            const auto x = hn::Mul(hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(du8, row + j))), scale_v);
            hn::StoreU(hn::Mul(hn::Sub(x, hn::LoadU(df, batch_mean + j)), hn::LoadU(df, inv_std + j)), df, out + j);
        }
        for (std::size_t j = whole_vectors; j < C; ++j) {
            out[j] = (static_cast<float>(row[j]) * scale - batch_mean[j]) * inv_std[j];
        }
    }
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_BN_PIXELS_INL_H_
