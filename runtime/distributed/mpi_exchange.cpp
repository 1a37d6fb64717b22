// MPI for training over several processes (see mpi_exchange.hpp).
#include "runtime/distributed/mpi_exchange.hpp"

#include <algorithm>
#include <climits>
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
    const auto n = static_cast<std::size_t>(ranks_);
    send_counts_.resize(n);
    receive_counts_.resize(n);
    displacements_.assign(n, 0);
    send_types_.resize(n);
    receive_types_.resize(n);
}

chunk_share mpi_chunk_exchange::share_of(std::size_t rank, std::size_t chunks) const {
    const std::size_t r = rank, n = static_cast<std::size_t>(ranks_);
    const std::size_t first = chunks * r / n, end = chunks * (r + 1) / n;
    return {.first = first, .count = end - first};
}

mpi_chunk_exchange::~mpi_chunk_exchange() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized != 0) return;  // MPI freed them
    for (layout& l : layouts_) {
        for (MPI_Datatype& type : l.types) {
            if (type != MPI_DATATYPE_NULL) MPI_Type_free(&type);
        }
    }
}

mpi_chunk_exchange::layout& mpi_chunk_exchange::layout_of(std::span<const chunk_region> regions, std::size_t chunks) {
    for (layout& l : layouts_) {
        if (l.chunks == chunks && std::equal(l.regions.begin(), l.regions.end(), regions.begin(), regions.end(),
                                             [](const chunk_region& a, const chunk_region& b) {
                                                 return a.first == b.first && a.rest == b.rest && a.bytes == b.bytes;
                                             })) {
            return l;
        }
    }
    layout l{.regions = {regions.begin(), regions.end()},
             .chunks = chunks,
             .types = std::vector<MPI_Datatype>(static_cast<std::size_t>(ranks_), MPI_DATATYPE_NULL)};
    std::vector<int> lengths;
    std::vector<MPI_Aint> addresses;
    for (int r = 0; r < ranks_; ++r) {
        const chunk_share theirs = share_of(static_cast<std::size_t>(r), chunks);
        if (theirs.count == 0) continue;
        lengths.clear();
        addresses.clear();
        for (std::size_t c = theirs.first; c < theirs.first + theirs.count; ++c) {
            for (const chunk_region& region : regions) {
                MPI_Aint address = 0;
                check(MPI_Get_address(region.chunk(c), &address), "MPI_Get_address");
                addresses.push_back(address);
                lengths.push_back(static_cast<int>(region.bytes));
            }
        }
        MPI_Datatype& type = l.types[static_cast<std::size_t>(r)];
        check(MPI_Type_create_hindexed(static_cast<int>(lengths.size()), lengths.data(), addresses.data(), MPI_BYTE,
                                       &type),
              "MPI_Type_create_hindexed");
        check(MPI_Type_commit(&type), "MPI_Type_commit");
    }
    layouts_.push_back(std::move(l));
    return layouts_.back();
}

void mpi_chunk_exchange::exchange(std::span<const chunk_region> regions, std::size_t chunks) {
    std::size_t chunk_bytes = 0;
    for (const chunk_region& region : regions) chunk_bytes += region.bytes;
    if (chunk_bytes * chunks > static_cast<std::size_t>(INT_MAX)) {
        throw std::runtime_error(
            fmt::format("a phase's chunks hold {} bytes, more than one MPI_Alltoallw carries", chunk_bytes * chunks));
    }
    const layout& l = layout_of(regions, chunks);
    const auto me = static_cast<std::size_t>(rank_);
    const MPI_Datatype mine = l.types[me];
    for (std::size_t r = 0; r < l.types.size(); ++r) {
        const bool other = r != me;
        send_counts_[r] = other && mine != MPI_DATATYPE_NULL ? 1 : 0;
        receive_counts_[r] = other && l.types[r] != MPI_DATATYPE_NULL ? 1 : 0;
        send_types_[r] = mine != MPI_DATATYPE_NULL ? mine : MPI_BYTE;
        receive_types_[r] = l.types[r] != MPI_DATATYPE_NULL ? l.types[r] : MPI_BYTE;
    }
    // Every chunk travels from where the rank that computed it wrote it straight to where the others keep it: the
    // datatypes hold the regions' addresses (relative to MPI_BOTTOM), so nothing is packed or unpacked here.
    check(MPI_Alltoallw(MPI_BOTTOM, send_counts_.data(), displacements_.data(), send_types_.data(), MPI_BOTTOM,
                        receive_counts_.data(), displacements_.data(), receive_types_.data(), comm_),
          "MPI_Alltoallw");
}

}  // namespace nnfuse
