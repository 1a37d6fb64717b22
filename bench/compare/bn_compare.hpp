// bench/compare/bn_compare: libtorch's and oneDNN's CPU batch normalization (training forward and backward
// of a [N, C] float32 batch with gamma and beta, Keras eps 1e-3) as Google Benchmark rows, for bench/bn_kernels
// to register next to nnfuse's own rows. Built only with meson -Dcompare=true.
//
// register_libtorch_bn(name, pass, C, N, bytes_per_element, threads) and register_onednn_bn(...)
//   requires: name is the nnfuse row's prefix (BM_bn_fwd_train, BM_bn_bwd); bytes_per_element as the nnfuse
//             row counts it (4 bytes per tensor the pass must touch once).
//   ensures:  registers <name>_libtorch/C/N (or _onednn), with "/2t" appended when threads == 2, whose body
//             runs the library with that many threads and reports bytes and the copy roofline
//             (bench/roofline.hpp) exactly as the nnfuse rows do, plus the "min" statistic of repetitions as
//             theirs. The label names the implementation. One thread: CPU time as the nnfuse rows; more: real time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nnfuse::bench {

// The "min" statistic of --benchmark_repetitions: on a shared machine the least disturbed run.
inline double fastest_time(const std::vector<double>& times) {
    double best = times.empty() ? 0.0 : times.front();
    for (const double t : times) best = t < best ? t : best;
    return best;
}

// <name>_<library>/C/N[/<threads>t], built by appends (g++ 12 warns falsely on "/" + std::to_string(...)).
inline std::string compare_row_name(const std::string& name, const char* library, std::size_t features,
                                    std::size_t rows, int threads) {
    std::string row = name;
    row += '_';
    row += library;
    row += '/';
    row += std::to_string(features);
    row += '/';
    row += std::to_string(rows);
    if (threads != 1) {
        row += '/';
        row += std::to_string(threads);
        row += 't';
    }
    return row;
}

enum class bn_pass { forward_train, backward };

void register_libtorch_bn(const std::string& name, bn_pass pass, std::size_t features, std::size_t rows,
                          std::int64_t bytes_per_element, int threads);

void register_onednn_bn(const std::string& name, bn_pass pass, std::size_t features, std::size_t rows,
                        std::int64_t bytes_per_element, int threads);

}  // namespace nnfuse::bench
