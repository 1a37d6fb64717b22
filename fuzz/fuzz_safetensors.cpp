// libFuzzer target: the strict safetensors reader on arbitrary bytes (what --resume and load_weights
// read from a user's file). Contract under test: parse either returns a file whose tensors all lie inside
// it, or throws checkpoint_error; never another exception, a crash, a hang, undefined behaviour or an
// out-of-bounds read (ASan + UBSan). A file that parses must also survive a round trip through the writer
// unchanged (same tensors, bytes and metadata).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "runtime/checkpoint/checkpoint_error.hpp"
#include "runtime/checkpoint/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    nnfuse::safetensors_file file;
    try {
        file = nnfuse::safetensors_file::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz-input");
    } catch (const nnfuse::checkpoint_error&) {
        return 0;
    }
    std::vector<nnfuse::tensor_to_write> tensors;
    for (const auto& [name, tensor] : file.tensors()) {
        const std::string_view bytes = file.data(tensor);
        tensors.push_back({name, tensor.dtype, tensor.shape,
                           std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size())});
    }
    const auto again =
        nnfuse::safetensors_file::parse(nnfuse::serialize_safetensors(tensors, file.metadata()), "round-trip");
    if (again.metadata() != file.metadata() || again.tensors().size() != file.tensors().size()) std::abort();
    for (const auto& [name, tensor] : file.tensors()) {
        const auto& other = again.tensors().at(name);
        if (other.dtype != tensor.dtype || other.shape != tensor.shape || again.data(other) != file.data(tensor))
            std::abort();
    }
    return 0;
}
