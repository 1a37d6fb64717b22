// Pieces shared by the checkpoint readers and writers (checkpoint.cpp, callback_state.cpp); not an API of its own.
//   expected_tensor: a tensor the network, optimizer or a callback holds: where its values live and what the file must
//     say of it. variable_shape: a variable's shape in the file (Keras's: a Dense kernel (inputs, units), a scalar
//     (), otherwise a vector).
//   metadata_text / metadata_number / metadata_double: a __metadata__ value, the whole of it a decimal (or, for a
//     double, a number std::from_chars reads, "inf" and "nan" included); throw checkpoint_error naming the file and
//     key when it is absent or malformed. exact_text(double): the shortest text that reads back to the same double.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/checkpoint/safetensors.hpp"
#include "runtime/train/network.hpp"

namespace nnfuse::checkpoint_fields {

struct expected_tensor {
    std::string name;
    std::string dtype;  // "F32" or "I64"
    std::vector<std::uint64_t> shape;
    std::span<std::byte> storage;
};

std::vector<std::uint64_t> variable_shape(const variable_ref& v);

const std::string& metadata_text(const safetensors_file& file, const std::string& key);
std::uint64_t metadata_number(const safetensors_file& file, const std::string& key);
double metadata_double(const safetensors_file& file, const std::string& key);
std::string exact_text(double value);

}  // namespace nnfuse::checkpoint_fields
