// libFuzzer target: the NPY reader (header dict parser, byte order, fortran order, raw or gzip) and the NPY table
// conversion on arbitrary bytes, alone and as a features/targets pair. Contract under test: read_npy returns an
// array of rank 1 or 2 whose data size matches its shape and dtype, read_npy_table a table that satisfies
// table.hpp's invariants, or either throws data_error; never another exception, a crash, a hang, undefined
// behaviour or an out-of-bounds access (ASan + UBSan).
#include "check_table.hpp"
#include "memory_file.hpp"

#include "runtime/data/data_error.hpp"
#include "runtime/data/npy.hpp"
#include "runtime/data/npy_table.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    // First byte: one array (0), one features table (1), or a features/targets pair with class ids (2) or values
    // (3), split at the point the second byte chooses (a fraction of the rest).
    const std::uint8_t mode = data[0] % 4;
    const std::size_t rest = size - 2;
    const std::uint8_t* body = data + 2;
    try {
        if (mode == 0) {
            nnfuse_fuzz::memory_file file(body, rest);
            const nnfuse::npy_array array = nnfuse::read_npy(file.path());
            std::size_t count = 1;
            for (std::size_t d : array.shape) count *= d;
            if (array.shape.empty() || array.shape.size() > 2) std::abort();
            if (array.data.size() != count * nnfuse::npy_item_size(array.dtype)) std::abort();
        } else if (mode == 1) {
            nnfuse_fuzz::memory_file file(body, rest);
            nnfuse_fuzz::check_table(nnfuse::read_npy_table(file.path()));
        } else {
            const std::size_t split = rest * data[1] / 255;
            nnfuse_fuzz::memory_file features(body, split), targets(body + split, rest - split);
            const auto kind = mode == 2 ? nnfuse::target_kind::class_id : nnfuse::target_kind::float_vector;
            nnfuse_fuzz::check_table(nnfuse::read_npy_table(features.path(), targets.path(), kind));
        }
    } catch (const nnfuse::data_error&) {
    }
    return 0;
}
