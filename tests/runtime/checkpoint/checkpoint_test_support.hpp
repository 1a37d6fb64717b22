// Helpers of the checkpoint tests: a scratch directory removed at the end of each test, whole-file
// reads and writes, and hand-made safetensors files (a header given as text, data as bytes), so the
// tests build exactly the defect they name rather than going through the writer under test.
#pragma once

#include <unistd.h>

#include "runtime/optim/optimizer.hpp"
#include "runtime/train/batch_norm_statistics.hpp"
#include "runtime/train/network.hpp"
#include "tests/support/scratch_dir.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <span>
#include <string>
#include <string_view>

namespace checkpoint_test {

using nnfuse::test::scratch_dir;

// Every value the training state consists of, as raw bytes: variables, optimizer slots and step count,
// BN batch counters, the random state (dropout). Bitwise equality of two snapshots is exact resume.
struct state_snapshot {
    std::map<std::string, std::string> values;
    bool operator==(const state_snapshot&) const = default;
};

inline state_snapshot snapshot(nnfuse::network& net, nnfuse::optimizer* opt = nullptr) {
    state_snapshot s;
    const auto bytes = [](std::span<const float> v) {
        return std::string(reinterpret_cast<const char*>(v.data()), v.size_bytes());
    };
    for (const auto& v : net.variables()) s.values[std::string(v.name)] = bytes(v.value);
    for (const auto& bn : nnfuse::bn_layers_of(net))
        s.values["batches_seen " + std::string(bn.name)] = std::to_string(*bn.batches_seen);
    if (const auto* random = net.randomness())
        s.values["random"] = std::to_string(random->seed) + " " + std::to_string(random->step);
    if (opt != nullptr) {
        for (const auto& slot : opt->state()) s.values["slot " + slot.name] = bytes(slot.values);
        s.values["iterations"] = std::to_string(opt->iterations());
    }
    return s;
}

inline std::span<float> variable(nnfuse::network& net, std::string_view name) {
    for (const auto& v : net.variables())
        if (v.name == name) return v.value;
    FAIL("no variable " << name);
    return {};
}

inline std::string read_all(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_all(const std::filesystem::path& file, const std::string& bytes) {
    std::ofstream(file, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
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
