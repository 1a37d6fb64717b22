// Training over MPI processes (ranks) with the same bits as one process: an MPI implementation of chunk_exchange
// (runtime/parallel/chunk_exchange.hpp), and the MPI environment a program needs around it.
//
// mpi_environment(argc, argv): MPI_Init_thread (MPI_THREAD_FUNNELED: only the thread that trains calls MPI) and, at
//   destruction, MPI_Finalize. One per program, before any mpi_chunk_exchange. Errors on MPI_COMM_WORLD are returned,
//   not fatal, so that they become exceptions naming the call.
// mpi_chunk_exchange(comm): rank r of R gets the chunks [floor(C r / R), floor(C (r + 1) / R)) of a C-chunk batch.
//   exchange() sends this rank's chunks of every region to every other rank and receives theirs with one
//   MPI_Alltoallw whose datatypes point at the regions themselves (no packing into a buffer and out again). Each
//   phase's datatypes (one per rank, for each distinct set of regions and chunk count) are made on first use and
//   kept: later steps make none. Throws std::runtime_error naming the MPI call and its error string.
// requires: every rank trains the same model from the same state with the same batches (same seed, data, batch
//   size) and the same SIMD target; the training thread is the one that created the mpi_environment.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <span>
#include <vector>

#include "runtime/parallel/chunk_exchange.hpp"

namespace nnfuse {

class mpi_environment {
public:
    mpi_environment(int& argc, char**& argv);
    ~mpi_environment();
    mpi_environment(const mpi_environment&) = delete;
    mpi_environment& operator=(const mpi_environment&) = delete;

    int rank() const { return rank_; }
    int ranks() const { return ranks_; }

private:
    int rank_ = 0, ranks_ = 1;
};

class mpi_chunk_exchange final : public chunk_exchange {
public:
    explicit mpi_chunk_exchange(MPI_Comm comm = MPI_COMM_WORLD);
    ~mpi_chunk_exchange() override;
    mpi_chunk_exchange(const mpi_chunk_exchange&) = delete;
    mpi_chunk_exchange& operator=(const mpi_chunk_exchange&) = delete;

    int rank() const { return rank_; }
    int ranks() const { return ranks_; }
    std::size_t processes() const override { return static_cast<std::size_t>(ranks_); }
    std::size_t process() const override { return static_cast<std::size_t>(rank_); }
    chunk_share share_of(std::size_t rank, std::size_t chunks) const override;
    void exchange(std::span<const chunk_region> regions, std::size_t chunks) override;

private:
    MPI_Comm comm_;
    int rank_ = 0, ranks_ = 1;
    // One phase's regions and chunk count, and the datatype of each rank's chunks of them (MPI_DATATYPE_NULL: none).
    struct layout {
        std::vector<chunk_region> regions;
        std::size_t chunks = 0;
        std::vector<MPI_Datatype> types;
    };
    layout& layout_of(std::span<const chunk_region> regions, std::size_t chunks);

    std::vector<layout> layouts_;
    std::vector<int> send_counts_, receive_counts_, displacements_;
    std::vector<MPI_Datatype> send_types_, receive_types_;
};

}  // namespace nnfuse
