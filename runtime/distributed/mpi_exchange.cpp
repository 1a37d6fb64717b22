// MPI for training over several processes (see mpi_exchange.hpp).
#include "runtime/distributed/mpi_exchange.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace nnfuse {

namespace {

void check(int status, const char* call) {
    if (status == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING] = {};
    int length = 0;
    MPI_Error_string(status, text, &length);
    throw std::runtime_error(fmt::format("{} failed: {}", call, std::string(text, static_cast<std::size_t>(length))));
}

}  // namespace

mpi_environment::mpi_environment(int& argc, char**& argv) {
    int provided = 0;
    check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &ranks_), "MPI_Comm_size");
}

mpi_environment::~mpi_environment() { MPI_Finalize(); }

mpi_chunk_exchange::mpi_chunk_exchange(MPI_Comm comm) : comm_(comm) {
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &ranks_), "MPI_Comm_size");
    counts_.resize(static_cast<std::size_t>(ranks_));
    displacements_.resize(static_cast<std::size_t>(ranks_));
}

chunk_share mpi_chunk_exchange::share_of(std::size_t rank, std::size_t chunks) const {
    const std::size_t r = rank, n = static_cast<std::size_t>(ranks_);
    const std::size_t first = chunks * r / n, end = chunks * (r + 1) / n;
    return {.first = first, .count = end - first};
}

void mpi_chunk_exchange::exchange(std::span<const chunk_region> regions, std::size_t chunks) {
    std::size_t chunk_bytes = 0;
    for (const chunk_region& region : regions) chunk_bytes += region.bytes;
    if (chunk_bytes * chunks > static_cast<std::size_t>(INT_MAX)) {
        throw std::runtime_error(
            fmt::format("a phase's chunks hold {} bytes, more than one MPI_Allgatherv carries", chunk_bytes * chunks));
    }
    const chunk_share mine = share(chunks);
    send_.resize(std::max<std::size_t>(send_.size(), mine.count * chunk_bytes));
    receive_.resize(std::max<std::size_t>(receive_.size(), chunks * chunk_bytes));
    std::byte* out = send_.data();
    for (std::size_t c = mine.first; c < mine.first + mine.count; ++c) {
        for (const chunk_region& region : regions) {
            std::memcpy(out, region.chunk(c), region.bytes);
            out += region.bytes;
        }
    }
    for (int r = 0; r < ranks_; ++r) {
        const chunk_share theirs = share_of(static_cast<std::size_t>(r), chunks);
        counts_[static_cast<std::size_t>(r)] = static_cast<int>(theirs.count * chunk_bytes);
        displacements_[static_cast<std::size_t>(r)] = static_cast<int>(theirs.first * chunk_bytes);
    }
    check(MPI_Allgatherv(send_.data(), static_cast<int>(mine.count * chunk_bytes), MPI_BYTE, receive_.data(),
                         counts_.data(), displacements_.data(), MPI_BYTE, comm_),
          "MPI_Allgatherv");
    const std::byte* in = receive_.data();
    for (std::size_t c = 0; c < chunks; ++c) {
        const bool own = c >= mine.first && c < mine.first + mine.count;
        for (const chunk_region& region : regions) {
            if (!own) std::memcpy(region.chunk(c), in, region.bytes);
            in += region.bytes;
        }
    }
}

}  // namespace nnfuse
