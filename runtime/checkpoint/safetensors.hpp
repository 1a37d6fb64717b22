// safetensors: the file format of nnfuse's checkpoints (huggingface/safetensors, README "Format").
//
// Layout: an unsigned 64-bit little-endian N, then N bytes of UTF-8 JSON (the header), then the byte
// buffer. The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}, offsets
// relative to the buffer; the optional "__metadata__" maps strings to strings. Data is little-endian,
// row-major.
//
// serialize_safetensors(tensors, metadata)
//   requires: names unique, non-empty and not "__metadata__"; dtypes known; bytes.size() == the shape's
//             element count times the dtype's size. Violations throw std::invalid_argument.
//   ensures:  the header starts with '{' and is padded with spaces to a multiple of 8 bytes (so the buffer
//             starts 8-aligned); tensors are laid out contiguously from offset 0, widest dtype first, then
//             by name (the official writer's order, so every tensor is aligned to its element size); no
//             byte follows the last tensor. The same input always gives the same bytes. JSON is written by
//             nlohmann/json (Debian's nlohmann-json3-dev), never by hand.
//
// safetensors_file::parse(bytes, source) / read_safetensors(path)
//   ensures:  a file that parses is entirely accounted for: every tensor's bytes lie inside the buffer,
//             match shape x dtype exactly, and together they tile the buffer from 0 to its end.
//   throws:   checkpoint_error "<source>: <problem>" naming the tensor concerned, for: a file shorter
//             than 8 bytes; a header length over 100,000,000 bytes or past the end of the file; a header
//             that is not UTF-8, does not start with '{', is not JSON or is deeper than the format allows;
//             a duplicate key at any level (duplicate tensor names included); a metadata value that is not
//             a string; an unknown dtype or field; a shape or offset that is not a non-negative integer; an
//             element count or byte size that overflows; begin > end; a size that differs from
//             shape x dtype; a tensor past the end of the buffer; offsets that overlap or leave a gap;
//             trailing bytes after the last tensor. read_safetensors also refuses what is not a regular
//             file (a FIFO or device could block or never end).
//   Mirrors the reference parser (safetensors/src/tensor.rs read_metadata / validate), but stricter: it
//   does not skip leading whitespace and rejects unknown fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nnfuse {

// The reference parser's limit (MAX_HEADER_SIZE): bounds what a hostile file can make us allocate.
inline constexpr std::uint64_t safetensors_max_header_bytes = 100'000'000;

// Bits per element of a safetensors dtype ("F32": 32, "F4": 4), 0 for a name the format does not define.
std::size_t safetensors_dtype_bits(std::string_view dtype);

struct safetensors_tensor {
    std::string dtype;
    std::vector<std::uint64_t> shape;
    std::uint64_t begin = 0, end = 0;  // data_offsets: [begin, end) of the byte buffer
};

class safetensors_file {
public:
    static safetensors_file parse(std::string bytes, std::string source);

    const std::string& source() const { return source_; }
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    const std::map<std::string, safetensors_tensor>& tensors() const { return tensors_; }
    // The raw little-endian bytes of a tensor of this file (no alignment promised: copy, don't cast).
    std::string_view data(const safetensors_tensor& tensor) const {
        return std::string_view(bytes_).substr(buffer_start_ + tensor.begin, tensor.end - tensor.begin);
    }

private:
    std::string source_;
    std::string bytes_;  // the whole file
    std::size_t buffer_start_ = 0;
    std::map<std::string, std::string> metadata_;
    std::map<std::string, safetensors_tensor> tensors_;
};

safetensors_file read_safetensors(const std::filesystem::path& file);

struct tensor_to_write {
    std::string name;
    std::string dtype;
    std::vector<std::uint64_t> shape;
    std::span<const std::byte> bytes;
};

std::string serialize_safetensors(std::span<const tensor_to_write> tensors,
                                  const std::map<std::string, std::string>& metadata);

}  // namespace nnfuse
