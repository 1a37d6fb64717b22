// gather_pixel_rows, per SIMD target (Highway): u8 -> i32 -> f32, times scale, a vector of pixels at a time.
#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "runtime/data/pixel_rows.cpp"
#include "hwy/cache_control.h"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/cache_line.hpp"
#include "runtime/data/pixel_rows.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/core.h>

HWY_BEFORE_NAMESPACE();
namespace nnfuse::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

inline constexpr std::size_t kPrefetchRows = 4;

void GatherPixelRows(const std::uint8_t* HWY_RESTRICT pixels, std::size_t row_size, std::span<const std::uint32_t> rows,
                     float scale, float* HWY_RESTRICT out) {
    const hn::ScalableTag<float> df;
    const hn::Rebind<std::int32_t, decltype(df)> di;
    const hn::Rebind<std::uint8_t, decltype(df)> du8;
    const std::size_t lanes = hn::Lanes(df);
    const auto scale_v = hn::Set(df, scale);
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const std::uint8_t* HWY_RESTRICT src = pixels + std::size_t{rows[r]} * row_size;
        float* HWY_RESTRICT dst = out + r * row_size;
        // The rows are scattered over the whole set (a shuffled epoch): ask for a row kPrefetchRows ahead while
        // widening this one, far enough for memory's latency to pass (widening a row takes a few dozen cycles).
        for (std::size_t ahead = r == 0 ? 0 : kPrefetchRows; ahead <= kPrefetchRows; ++ahead) {
            if (r + ahead >= rows.size()) break;
            const std::uint8_t* next = pixels + std::size_t{rows[r + ahead]} * row_size;
            for (std::size_t at = 0; at < row_size; at += cache_line_bytes) hwy::Prefetch(next + at);
        }
        std::size_t i = 0;
        for (; i + lanes <= row_size; i += lanes) {
            const auto widened = hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(du8, src + i)));
            hn::StoreU(hn::Mul(widened, scale_v), df, dst + i);
        }
        for (; i < row_size; ++i) dst[i] = static_cast<float>(src[i]) * scale;
    }
}

void PrefetchPixelRows(const std::uint8_t* pixels, std::size_t row_size, std::span<const std::uint32_t> rows) {
    if (row_size == 0) return;
    for (const std::uint32_t row : rows) {
        const std::uint8_t* first = pixels + std::size_t{row} * row_size;
        // Not into L1 (locality 1 of 3; x86: prefetcht2): the step that runs meanwhile needs L1 for itself.
        for (std::size_t at = 0; at < row_size; at += cache_line_bytes) __builtin_prefetch(first + at, 0, 1);
        __builtin_prefetch(first + row_size - 1, 0, 1);  // a row that starts mid-line ends in one more line
    }
}

}  // namespace nnfuse::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse {

HWY_EXPORT(GatherPixelRows);
HWY_EXPORT(PrefetchPixelRows);

void gather_pixel_rows(const std::uint8_t* pixels, std::size_t row_size, std::span<const std::uint32_t> rows,
                       float scale, float* out) {
    HWY_DYNAMIC_DISPATCH(GatherPixelRows)(pixels, row_size, rows, scale, out);
}

void prefetch_pixel_rows(const std::uint8_t* pixels, std::size_t row_size, std::span<const std::uint32_t> rows) {
    HWY_DYNAMIC_DISPATCH(PrefetchPixelRows)(pixels, row_size, rows);
}

void prefetch_next_chunk(const pixel_batch& batch, std::size_t begin, std::size_t count) {
    if (begin >= batch.next_samples.size()) return;
    prefetch_pixel_rows(batch.pixels.data(), batch.row_size,
                        batch.next_samples.subspan(begin, std::min(count, batch.next_samples.size() - begin)));
}

void check_pixel_batch(const pixel_batch& batch, std::size_t row_size, std::string_view model) {
    if (batch.row_size != row_size) {
        throw std::invalid_argument(
            fmt::format("{}: pixel rows of {} bytes; this Net takes {}", model, batch.row_size, row_size));
    }
    if (batch.pixels.size() % row_size != 0) {
        throw std::invalid_argument(
            fmt::format("{}: an image set of {} bytes is not whole rows of {}", model, batch.pixels.size(), row_size));
    }
    const std::size_t set_rows = batch.pixels.size() / row_size;
    const auto check = [&](std::span<const std::uint32_t> rows, std::string_view what) {
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (rows[i] >= set_rows) {
                throw std::invalid_argument(
                    fmt::format("{}: {}[{}] is row {} of an image set of {} rows", model, what, i, rows[i], set_rows));
            }
        }
    };
    check(batch.samples, "samples");
    check(batch.next_samples, "next_samples");
}

}  // namespace nnfuse
#endif  // HWY_ONCE
