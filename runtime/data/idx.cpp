// IDX reading through zlib's gz* interface: one code path for raw and gzip files (see idx.hpp).
#include "runtime/data/idx.hpp"

#include "runtime/data/data_error.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace nnfuse {
namespace {

struct gz_closer {
    void operator()(gzFile file) const noexcept { gzclose(file); }
};
using gz_handle = std::unique_ptr<gzFile_s, gz_closer>;

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

// A byte stream from a raw or gzip file in which every zlib error is a data_error naming the file.
class checked_gz_reader {
public:
    explicit checked_gz_reader(const std::filesystem::path& file) : name_(file.string()) {
        errno = 0;
        gz_.reset(gzopen(name_.c_str(), "rb"));
        if (!gz_) {
            fail(fmt::format("cannot open ({})", errno != 0 ? std::strerror(errno) : "zlib is out of memory"));
        }
        gzbuffer(gz_.get(), 1U << 18);  // larger than zlib's 8 KiB default: fewer read() calls on 47 MB sets
    }

    // Reads until `count` bytes or the end of the data; returns how many were read. End of data is only
    // believed when zlib reports no error: a cut gzip stream also makes gzread return 0.
    std::size_t read_some(void* destination, std::size_t count) {
        auto* out = static_cast<unsigned char*>(destination);
        std::size_t done = 0;
        while (done < count) {
            const auto request = static_cast<unsigned>(std::min<std::size_t>(count - done, INT_MAX));
            const int got = gzread(gz_.get(), out + done, request);
            if (got < 0) fail_with_zlib_error();
            if (got == 0) {
                int code = Z_OK;
                gzerror(gz_.get(), &code);
                if (code != Z_OK) fail_with_zlib_error();
                break;
            }
            done += static_cast<std::size_t>(got);
            consumed_ += static_cast<std::size_t>(got);
        }
        return done;
    }

    // Whether the file is gzip (decided by zlib from the magic bytes 1f 8b; meaningful after a read).
    bool compressed() const { return gzdirect(gz_.get()) == 0; }

    [[noreturn]] void fail(std::string_view problem) const { throw data_error(fmt::format("{}: {}", name_, problem)); }

private:
    [[noreturn]] void fail_with_zlib_error() const {
        int code = Z_OK;
        std::string_view message = gzerror(gz_.get(), &code);
        // zlib prefixes its message with the path given to gzopen; we print the path once, ourselves.
        if (const std::string prefix = name_ + ": "; message.starts_with(prefix)) message.remove_prefix(prefix.size());
        switch (code) {
            case Z_BUF_ERROR:
                fail(
                    fmt::format("gzip stream is truncated (zlib: {}) after {} decompressed bytes", message, consumed_));
            case Z_DATA_ERROR:
                fail(fmt::format("corrupt gzip data (zlib: {}) after {} decompressed bytes", message, consumed_));
            case Z_ERRNO:
                fail(fmt::format("read error ({})", std::strerror(errno)));
            case Z_MEM_ERROR:
                fail("out of memory while decompressing");
            default:
                fail(fmt::format("zlib error {} ({})", code, message));
        }
    }

    std::string name_;
    gz_handle gz_;
    std::size_t consumed_ = 0;
};

}  // namespace

idx_u8 read_idx_u8(const std::filesystem::path& file) {
    checked_gz_reader in(file);
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
