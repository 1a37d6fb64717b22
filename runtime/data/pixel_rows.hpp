// gather_pixel_rows: a training batch as floats, from the rows of a uint8 image set.
//
// gather_pixel_rows(pixels, row_size, rows, scale, out)
//   requires: pixels holds at least (max(rows) + 1) * row_size bytes; out holds rows.size() * row_size floats
//             and overlaps nothing it reads.
//   ensures:  out[r * row_size + i] == float(pixels[rows[r] * row_size + i]) * scale, the same value the plain
//             C++ expression gives (an exact conversion, then one rounding), on every SIMD target.
// The data set stays uint8 in memory (a quarter of a float copy); only the batch being trained is widened, into
// a buffer small enough to stay in cache for the forward pass that reads it next.
//
// prefetch_pixel_rows(pixels, row_size, rows)
//   requires: as gather_pixel_rows's pixels and rows.   ensures: nothing observable; asks the CPU to bring every
//   cache line of those rows into cache. A shuffled epoch reads rows scattered over a set larger than the last-level
//   cache; asking for the next batch's rows before a training step lets memory's latency pass during the step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace nnfuse {

// A training batch as rows of a uint8 image set: rows `samples` of `pixels` (row_size bytes each), every pixel
// times `scale`. `next_samples` are the next batch's rows (may be empty), to prefetch while this one trains.
struct pixel_batch {
    const std::uint8_t* pixels = nullptr;
    std::size_t row_size = 0;
    std::span<const std::uint32_t> samples;
    std::span<const std::uint32_t> next_samples;
    float scale = 1.0f;
};

// The next batch's rows [begin, begin + count) of `batch`, as far as there are any, asked for with
// prefetch_pixel_rows: each chunk's thread asks for its share.
void prefetch_next_chunk(const pixel_batch& batch, std::size_t begin, std::size_t count);

void gather_pixel_rows(const std::uint8_t* pixels, std::size_t row_size, std::span<const std::uint32_t> rows,
                       float scale, float* out);

void prefetch_pixel_rows(const std::uint8_t* pixels, std::size_t row_size, std::span<const std::uint32_t> rows);

}  // namespace nnfuse
