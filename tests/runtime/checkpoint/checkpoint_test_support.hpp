// Helpers of the checkpoint tests: a scratch directory removed at the end of each test, whole-file
// reads and writes, and hand-made safetensors files (a header given as text, data as bytes), so the
// tests build exactly the defect they name rather than going through the writer under test.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace checkpoint_test {

class scratch_dir {
public:
    scratch_dir() {
        static std::atomic<int> serial{0};
        path_ = std::filesystem::temp_directory_path() /
                ("nnfuse-checkpoint-test-" + std::to_string(::getpid()) + "-" + std::to_string(serial++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~scratch_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;

    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline std::string read_all(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_all(const std::filesystem::path& file, const std::string& bytes) {
    std::ofstream(file, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string u64_le(std::uint64_t value) {
    std::string out;
    for (int k = 0; k < 8; ++k) out.push_back(static_cast<char>((value >> (8 * k)) & 0xFF));
    return out;
}

// 8-byte length of `header` (or `declared_length` when given), the header, then `data`.
inline std::string safetensors_bytes(const std::string& header, const std::string& data = "",
                                     std::uint64_t declared_length = ~std::uint64_t{0}) {
    return u64_le(declared_length == ~std::uint64_t{0} ? header.size() : declared_length) + header + data;
}

// The little-endian bytes of floats, as the tests expect a file to hold them.
inline std::string float_bytes(std::initializer_list<float> values) {
    std::string out;
    for (float v : values) out.append(reinterpret_cast<const char*>(&v), sizeof v);
    return out;
}

}  // namespace checkpoint_test
