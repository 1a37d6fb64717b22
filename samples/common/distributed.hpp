// The MPI ranks a training sample runs on with --distributed (issue 21; docs/distributed.md), or the one error that
// says it cannot.
//
// start_distributed(): starts MPI (nnfuse::mpi_environment) once per program and makes the session current; on every
//   rank but 0 the standard output then goes to /dev/null (rank 0 alone prints summary, progress and results).
//   Throws std::runtime_error when nnfuse was built without MPI (distributed_unavailable.cpp).
// current_distributed(): the session, or nullptr without --distributed.
// finish_distributed(): MPI_Finalize (also at exit when it was not called). Only after every rank's last collective.
// distributed_session, all collective unless said otherwise (every rank calls it, in the same order):
//   rank(), ranks(): this process's rank and the rank count (not collective).
//   first_failure(status, message): every rank's setup status; returns the lowest failing rank's {rank, status},
//     {-1, 0} when all are 0. That rank prints its message (one line, "rank R: " added when R > 0).
//   difference(lines): every rank's fingerprint, one "name value" a line; returns "" when all equal rank 0's, else
//     one sentence naming the first rank and line that differ and both values.
//   attach(net): sets the MPI chunk exchange on `net` (throws std::invalid_argument when its plan refuses).
//   exchange() (not collective): that exchange, for its shares of a batch's chunks.
//   say_when_stopped(line) (not collective): when mpirun stops this rank (SIGTERM: another rank died, or the job
//     was cancelled), it prints `line` on stderr before it exits with status 143 (rank 0 alone should ask).
// abort_distributed(status) (not collective): MPI_Abort, for a failure of this rank alone while the others train:
//   mpirun then stops every rank, with exit status `status`.
#pragma once

#include <string>
#include <utility>

#include "runtime/parallel/chunk_exchange.hpp"
#include "runtime/train/network.hpp"

namespace samples {

class distributed_session {
public:
    virtual ~distributed_session() = default;
    virtual int rank() const = 0;
    virtual int ranks() const = 0;
    bool leader() const { return rank() == 0; }
    virtual std::pair<int, int> first_failure(int status, const std::string& message) = 0;
    virtual std::string difference(const std::string& lines) = 0;
    virtual void attach(nnfuse::network& net) = 0;
    virtual const nnfuse::chunk_exchange& exchange() const = 0;
    virtual void say_when_stopped(const std::string& line) = 0;
};

void start_distributed();
distributed_session* current_distributed();
void finish_distributed();
[[noreturn]] void abort_distributed(int status);

}  // namespace samples
