// IDX reader (the MNIST file format, LeCun), raw or gzip-compressed.
//
// File layout: magic 00 00 <type> <ndim>, then ndim big-endian u32 dimensions, then prod(dims)
// elements in C order. Only type 0x08 (unsigned byte) is loaded.
//
// read_idx_u8(file)
//   requires: nothing; every defect of the file is reported, never assumed away.
//   ensures:  1 <= dims.size() <= 4, every dim > 0, data.size() == prod(dims) <= idx_max_payload_bytes.
//   throws:   data_error naming the file and the problem when the file is missing or unreadable, empty,
//             not IDX, of another element type, of rank outside 1..4, has a zero dimension or absurd
//             dimensions, ends before prod(dims) bytes (short file), has bytes after them (including a
//             second concatenated gzip member), or when zlib reports any error (corrupt deflate data,
//             CRC or length mismatch, stream cut short).
//
// Compression is decided by content, not by name: zlib's gzread inflates a stream that starts with the
// gzip magic 1f 8b and passes any other file through unchanged. A gzread result of 0 is never taken as
// success on its own: a truncated .gz reads as a short file and only gzerror (Z_BUF_ERROR) tells.
// Known limit: bytes after the last gzip member that do not start with 1f 8b are discarded by zlib
// without an error (gzip -d only warns about them); everything inside the stream is checked.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace nnfuse {

// Largest payload accepted: far above any real IDX set (Fashion-MNIST train is 47 MB), and low enough
// that a hostile header cannot make us try to allocate the whole machine.
inline constexpr std::uint64_t idx_max_payload_bytes = std::uint64_t{2} << 30;  // 2 GiB

struct idx_u8 {
    std::vector<std::uint32_t> dims;
    std::vector<std::uint8_t> data;  // prod(dims) elements, C order
};

idx_u8 read_idx_u8(const std::filesystem::path& file);

}  // namespace nnfuse
