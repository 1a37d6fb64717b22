// A training batch as rows of a uint8 image set: pixel_batch names them; gather_pixel_rows widens them to floats.
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
// prefetch_next_chunk(batch, begin, count) does it for the rows [begin, begin + count) of batch.next_samples (as
// far as there are any): each chunk's thread asks for its share.
//
// check_pixel_batch(batch, row_size, model) throws std::invalid_argument, naming `model` and the value, unless
// batch.row_size == row_size, the set is whole rows and every index of samples and next_samples is a row of it.
// A model whose first layer is a BN folded into a dense layer reads a pixel_batch without widening it
// (pixel_training::train_pixel_batch, runtime/kernels/bn_pixels-inl.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace nnfuse {

// A training batch as rows of a uint8 image set: rows `samples` of the set `pixels` (row_size bytes each), every
// pixel times `scale`. `next_samples` are the next batch's rows (may be empty), to prefetch while this one trains.
struct pixel_batch {
    std::span<const std::uint8_t> pixels;
    std::size_t row_size = 0;
    std::span<const std::uint32_t> samples;
    std::span<const std::uint32_t> next_samples;
    float scale = 1.0f;
};

void prefetch_next_chunk(const pixel_batch& batch, std::size_t begin, std::size_t count);

void check_pixel_batch(const pixel_batch& batch, std::size_t row_size, std::string_view model);

void gather_pixel_rows(const std::uint8_t* pixels, std::size_t row_size, std::span<const std::uint32_t> rows,
                       float scale, float* out);

void prefetch_pixel_rows(const std::uint8_t* pixels, std::size_t row_size, std::span<const std::uint32_t> rows);

}  // namespace nnfuse
