// Pieces shared by the checkpoint readers and writers (see checkpoint_fields.hpp).
#include "runtime/checkpoint/checkpoint_fields.hpp"

#include <charconv>

#include <fmt/format.h>

#include "runtime/checkpoint/checkpoint_error.hpp"

namespace nnfuse::checkpoint_fields {

// network.hpp gives a variable's values flat; a variable of rank > 2 (a Conv2D kernel) carries its dims; the one
// variable of rank 2 is a Dense kernel, whose glorot_uniform fans are its (inputs, units) shape; a scalar
// (normalization's count) has shape (). Everything else is a vector.
std::vector<std::uint64_t> variable_shape(const variable_ref& v) {
    if (v.scalar) return {};
    if (!v.dims.empty()) return {v.dims.begin(), v.dims.end()};
    if (v.init == initializer::glorot_uniform && v.fan_in * v.fan_out == v.value.size()) return {v.fan_in, v.fan_out};
    return {v.value.size()};
}

std::uint64_t metadata_number(const safetensors_file& file, const std::string& key) {
    const auto found = file.metadata().find(key);
    if (found == file.metadata().end()) {
        throw checkpoint_error(
            fmt::format("{}: __metadata__ has no \"{}\": not a training checkpoint", file.source(), key));
    }
    const std::string& text = found->second;
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        throw checkpoint_error(
            fmt::format("{}: __metadata__ \"{}\" is \"{}\", not a decimal number", file.source(), key, text));
    }
    return value;
}

const std::string& metadata_text(const safetensors_file& file, const std::string& key) {
    const auto found = file.metadata().find(key);
    if (found == file.metadata().end()) {
        throw checkpoint_error(fmt::format("{}: __metadata__ has no \"{}\"", file.source(), key));
    }
    return found->second;
}

double metadata_double(const safetensors_file& file, const std::string& key) {
    const std::string& text = metadata_text(file, key);
    double value = 0.0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        throw checkpoint_error(
            fmt::format("{}: __metadata__ \"{}\" is \"{}\", not a number", file.source(), key, text));
    }
    return value;
}

std::string exact_text(double value) { return fmt::format("{}", value); }  // shortest form that reads back the same

}  // namespace nnfuse::checkpoint_fields
