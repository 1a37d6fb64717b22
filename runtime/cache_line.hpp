// cache_line: the size of a CPU cache line, which data layouts and prefetches are cut to.
//
// 64 bytes on every x86-64 and most Arm cores this runs on; a layout cut to it stays correct on another size,
// only its spacing (one line per thread, one prefetch per line) is then off.
#pragma once

#include <cstddef>

namespace nnfuse {

inline constexpr std::size_t cache_line_bytes = 64;

// `floats` rounded up to whole cache lines: where an array that follows them starts on a line of its own.
constexpr std::size_t cache_line_floats(std::size_t floats) {
    constexpr std::size_t per_line = cache_line_bytes / sizeof(float);
    return (floats + per_line - 1) / per_line * per_line;
}

}  // namespace nnfuse
