// gz_reader through zlib's gz* interface: one code path for raw and gzip files (see gz_reader.hpp).
#include "runtime/data/gz_reader.hpp"

#include "runtime/data/data_error.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace nnfuse {

gz_reader::gz_reader(const std::filesystem::path& file) : name_(file.string()) {
    errno = 0;
    gz_ = gzopen(name_.c_str(), "rb");
    if (gz_ == nullptr) {
        fail(fmt::format("cannot open ({})", errno != 0 ? std::strerror(errno) : "zlib is out of memory"));
    }
    gzbuffer(gz_, 1U << 18);  // larger than zlib's 8 KiB default: fewer read() calls on 47 MB sets
}

gz_reader::~gz_reader() {
    if (gz_ != nullptr) gzclose(gz_);
}

std::size_t gz_reader::read_some(void* destination, std::size_t count) {
    auto* out = static_cast<unsigned char*>(destination);
    std::size_t done = 0;
    while (done < count) {
        const auto request = static_cast<unsigned>(std::min<std::size_t>(count - done, INT_MAX));
        const int got = gzread(gz_, out + done, request);
        if (got < 0) fail_with_zlib_error();
        if (got == 0) {
            int code = Z_OK;
            gzerror(gz_, &code);
            if (code != Z_OK) fail_with_zlib_error();
            break;
        }
        done += static_cast<std::size_t>(got);
        consumed_ += static_cast<std::size_t>(got);
    }
    return done;
}

bool gz_reader::compressed() const { return gzdirect(gz_) == 0; }

void gz_reader::fail(std::string_view problem) const { throw data_error(fmt::format("{}: {}", name_, problem)); }

void gz_reader::fail_with_zlib_error() const {
    int code = Z_OK;
    std::string_view message = gzerror(gz_, &code);
    // zlib prefixes its message with the path given to gzopen; we print the path once, ourselves.
    if (const std::string prefix = name_ + ": "; message.starts_with(prefix)) message.remove_prefix(prefix.size());
    switch (code) {
        case Z_BUF_ERROR:
            fail(fmt::format("gzip stream is truncated (zlib: {}) after {} decompressed bytes", message, consumed_));
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

}  // namespace nnfuse
