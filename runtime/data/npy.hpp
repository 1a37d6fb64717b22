// NPY reader: one array of a NumPy .npy file (format versions 1.0, 2.0 and 3.0), raw or gzip.
//
// File layout: "\x93NUMPY", major, minor, a little-endian header length (2 bytes in 1.0, 4 in 2.0 and 3.0),
// then the header, a Python dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// padded with spaces to a newline, then the elements.
//
// read_npy(file)
//   requires: nothing; every defect of the file is reported, never assumed away.
//   ensures:  shape.size() is 1 or 2; data holds prod(shape) elements of dtype in this machine's (little-endian)
//             byte order and C order: a big-endian file is byte-swapped and a fortran_order file of rank 2 is
//             transposed, so element [r, c] is at r * shape[1] + c either way.
//   throws:   data_error naming the file for: a file that cannot be opened or decompressed; a bad magic (a .npz
//             archive is named as one); a version other than 1.0, 2.0, 3.0; a header or data shorter than
//             announced (expected and actual bytes); a header dict that is malformed (the byte and the text) or
//             lacks or adds keys; a dtype other than float32, float64, int32, int64, uint8 (the descr given);
//             rank 0 or above 2; more than npy_max_payload_bytes of data; bytes after the data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace nnfuse {

// Largest array accepted, as idx_max_payload_bytes: a hostile header must not make us allocate the machine.
inline constexpr std::uint64_t npy_max_payload_bytes = std::uint64_t{2} << 30;  // 2 GiB

enum class npy_dtype { float32, float64, int32, int64, uint8 };

// NumPy's name of the type ("float32", ...) and its size in bytes.
const char* npy_dtype_name(npy_dtype type);
std::size_t npy_item_size(npy_dtype type);

struct npy_array {
    npy_dtype dtype = npy_dtype::float32;
    std::vector<std::size_t> shape;
    std::vector<unsigned char> data;  // prod(shape) * npy_item_size(dtype) bytes, native byte order, C order

    std::size_t size() const { return data.size() / npy_item_size(dtype); }

    // Element k (C order) as T, which must be the C++ type of dtype.
    template <class T>
    T element(std::size_t k) const {
        T value;
        std::memcpy(&value, data.data() + k * sizeof(T), sizeof(T));
        return value;
    }
};

npy_array read_npy(const std::filesystem::path& file);

}  // namespace nnfuse
