// Test helpers: a scratch directory removed at the end of each test, and writers for IDX files, raw or
// gzip (through zlib's gzopen/gzwrite, like the files the reader meets), good or deliberately broken.
#pragma once

#include "runtime/data/data_error.hpp"
#include "tests/support/scratch_dir.hpp"

#include <unistd.h>
#include <zlib.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <vector>

namespace nnfuse_test {

using bytes = std::vector<std::uint8_t>;

using nnfuse::test::scratch_dir;

// Header 00 00 <type> <ndim>, big-endian dims, then the payload as given (right size or not).
inline bytes idx_file(std::uint8_t type, std::uint8_t ndim, std::initializer_list<std::uint32_t> dims,
                      const bytes& payload) {
    bytes out{0, 0, type, ndim};
    for (std::uint32_t d : dims) {
        out.push_back(static_cast<std::uint8_t>(d >> 24));
        out.push_back(static_cast<std::uint8_t>(d >> 16));
        out.push_back(static_cast<std::uint8_t>(d >> 8));
        out.push_back(static_cast<std::uint8_t>(d));
    }
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

inline bytes idx_u8_file(std::initializer_list<std::uint32_t> dims, const bytes& payload) {
    return idx_file(0x08, static_cast<std::uint8_t>(dims.size()), dims, payload);
}

// 0, 1, 2, ... (mod 251, so no period of 256 hides an off-by-one in the reader).
inline bytes counting(std::size_t n) {
    bytes out(n);
    for (std::size_t k = 0; k < n; ++k) out[k] = static_cast<std::uint8_t>(k % 251);
    return out;
}

// Incompressible bytes (a fixed LCG), so a cut in the .gz falls inside the deflate data.
inline bytes noise(std::size_t n, std::uint32_t seed = 12345) {
    bytes out(n);
    for (auto& b : out) {
        seed = seed * 1664525U + 1013904223U;
        b = static_cast<std::uint8_t>(seed >> 24);
    }
    return out;
}

inline void write_raw(const std::filesystem::path& file, const bytes& content) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
    REQUIRE(out.good());
}

inline void write_gz(const std::filesystem::path& file, const bytes& content) {
    gzFile gz = gzopen(file.c_str(), "wb");
    REQUIRE(gz != nullptr);
    if (!content.empty()) {
        REQUIRE(gzwrite(gz, content.data(), static_cast<unsigned>(content.size())) == static_cast<int>(content.size()));
    }
    REQUIRE(gzclose(gz) == Z_OK);
}

inline bytes read_raw(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The gzip encoding of `content`, as bytes to cut, corrupt or concatenate.
inline bytes gz_bytes(const scratch_dir& dir, const bytes& content) {
    const auto tmp = dir / "gz_bytes.tmp";
    write_gz(tmp, content);
    bytes out = read_raw(tmp);
    std::filesystem::remove(tmp);
    return out;
}

// The message of the data_error that `read` throws; fails the test when it throws nothing.
template <class Read>
std::string data_error_message(Read&& read) {
    try {
        read();
    } catch (const nnfuse::data_error& e) {
        return e.what();
    }
    FAIL("expected a data_error, nothing was thrown");
    return {};
}

}  // namespace nnfuse_test
