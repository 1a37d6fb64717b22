// IDX reading through gz_reader: one code path for raw and gzip files (see idx.hpp).
#include "runtime/data/idx.hpp"

#include "runtime/data/data_error.hpp"
#include "runtime/data/gz_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

namespace nnfuse {
namespace {

std::string join_dims(const std::vector<std::uint32_t>& dims) {
    std::string text;
    for (std::size_t k = 0; k < dims.size(); ++k) {
        if (k > 0) text += " x ";
        text += std::to_string(dims[k]);
    }
    return text;
}

std::string hex_bytes(const std::uint8_t* bytes, std::size_t count) {
    std::string text;
    for (std::size_t k = 0; k < count; ++k) {
        if (k > 0) text += ' ';
        text += fmt::format("{:02x}", bytes[k]);
    }
    return text;
}

const char* idx_type_name(std::uint8_t type) {
    switch (type) {
        case 0x08:
            return "unsigned byte";
        case 0x09:
            return "signed byte";
        case 0x0B:
            return "16-bit integer";
        case 0x0C:
            return "32-bit integer";
        case 0x0D:
            return "32-bit float";
        case 0x0E:
            return "64-bit float";
        default:
            return nullptr;
    }
}

}  // namespace

idx_u8 read_idx_u8(const std::filesystem::path& file) {
    gz_reader in(file);
    const auto stream_kind = [&] { return in.compressed() ? "the decompressed gzip stream" : "the file"; };

    std::array<std::uint8_t, 4> magic{};
    const std::size_t magic_read = in.read_some(magic.data(), magic.size());
    if (magic_read == 0) {
        in.fail(in.compressed() ? "gzip stream holds no data, expected an IDX header"
                                : "empty file, expected an IDX header");
    }
    if (magic_read < magic.size()) {
        in.fail(fmt::format("{} ends inside the IDX magic number ({} of 4 bytes)", stream_kind(), magic_read));
    }
    if (magic[0] != 0 || magic[1] != 0) {
        in.fail(fmt::format("{}: starts with bytes {}, but an IDX file starts 00 00 <type> <ndim>{}",
                            in.compressed() ? "gzip content is not an IDX file" : "not an IDX file",
                            hex_bytes(magic.data(), magic.size()), in.compressed() ? "" : " (and a gzip file 1f 8b)"));
    }
    const std::uint8_t type = magic[2];
    if (type != 0x08) {
        if (const char* name = idx_type_name(type)) {
            in.fail(fmt::format("IDX element type 0x{:02X} ({}) is not supported; only 0x08 (unsigned byte) is", type,
                                name));
        }
        in.fail(fmt::format("unknown IDX element type 0x{:02X} (valid types: 08 09 0B 0C 0D 0E)", type));
    }
    const std::uint8_t rank = magic[3];
    if (rank < 1 || rank > 4) in.fail(fmt::format("IDX rank {} is out of range (expected 1 to 4)", rank));

    std::array<std::uint8_t, 16> dim_bytes{};
    const std::size_t dim_bytes_expected = 4U * rank;
    const std::size_t dim_bytes_read = in.read_some(dim_bytes.data(), dim_bytes_expected);
    if (dim_bytes_read < dim_bytes_expected) {
        in.fail(fmt::format("{} ends inside the IDX header: {} dimensions need {} bytes, got {}", stream_kind(), rank,
                            dim_bytes_expected, dim_bytes_read));
    }
    idx_u8 result;
    result.dims.resize(rank);
    for (std::size_t k = 0; k < rank; ++k) {
        const std::uint8_t* b = &dim_bytes[4 * k];
        result.dims[k] = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
                         std::uint32_t{b[3]};
    }
    // Each factor is < 2^32 and the running product stays <= 2^31, so the check itself cannot overflow.
    std::uint64_t payload = 1;
    for (std::size_t k = 0; k < rank; ++k) {
        if (result.dims[k] == 0) {
            in.fail(fmt::format("IDX dimension {} of {} is zero (dims {})", k + 1, rank, join_dims(result.dims)));
        }
        payload *= result.dims[k];
        if (payload > idx_max_payload_bytes) {
            in.fail(fmt::format("IDX dimensions {} describe more than the {} GiB limit of data", join_dims(result.dims),
                                idx_max_payload_bytes >> 30));
        }
    }

    // Grow the buffer as data arrives, so a tiny file whose header claims 2 GiB costs little memory.
    const auto expected = static_cast<std::size_t>(payload);
    constexpr std::size_t chunk = std::size_t{16} << 20;
    result.data.reserve(std::min(expected, 4 * chunk));
    while (result.data.size() < expected) {
        const std::size_t before = result.data.size();
        result.data.resize(std::min(expected, before + chunk));
        const std::size_t got = in.read_some(result.data.data() + before, result.data.size() - before);
        if (before + got < result.data.size()) {
            in.fail(fmt::format("truncated: dims {} need {} bytes of data, {} holds only {}", join_dims(result.dims),
                                expected, stream_kind(), before + got));
        }
    }

    // The data must end exactly here; a raw file or a further gzip member may hold more.
    std::array<std::uint8_t, 1 << 16> scratch{};
    std::size_t trailing = 0;
    constexpr std::size_t trailing_count_limit = std::size_t{1} << 26;
    while (trailing < trailing_count_limit) {
        const std::size_t got = in.read_some(scratch.data(), scratch.size());
        if (got == 0) break;
        trailing += got;
    }
    if (trailing > 0) {
        in.fail(fmt::format("trailing data: {}{} more bytes after the {} bytes described by dims {}",
                            trailing >= trailing_count_limit ? "at least " : "", trailing, expected,
                            join_dims(result.dims)));
    }
    return result;
}

}  // namespace nnfuse
