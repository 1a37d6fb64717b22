// --distributed over MPI (see distributed.hpp); built when nnfuse found MPI, distributed_unavailable.cpp otherwise.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "runtime/distributed/mpi_exchange.hpp"
#include "samples/common/distributed.hpp"

namespace samples {

namespace {

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// What a rank says when mpirun stops it: written by say_when_stopped before the handler is installed, read by the
// handler alone (write() and _exit() are async-signal-safe).
char stopped_line[2048];
std::size_t stopped_length = 0;

extern "C" void on_stopped(int) {
    if (::write(STDERR_FILENO, stopped_line, stopped_length) < 0) {
        // nothing more can be said
    }
    ::_exit(128 + SIGTERM);
}

class mpi_session final : public distributed_session {
public:
    mpi_session() : mpi_(argc_, argv_) {
        if (mpi_.rank() != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) {
            throw std::runtime_error("rank " + std::to_string(mpi_.rank()) + ": cannot silence the standard output");
        }
    }

    int rank() const override { return mpi_.rank(); }
    int ranks() const override { return mpi_.ranks(); }

    std::pair<int, int> first_failure(int status, const std::string& message) override {
        std::vector<int> statuses(static_cast<std::size_t>(ranks()));
        check(MPI_Allgather(&status, 1, MPI_INT, statuses.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
        for (int r = 0; r < ranks(); ++r) {
            const int s = statuses[static_cast<std::size_t>(r)];
            if (s == 0) continue;
            if (r == rank()) {
                std::string line = message;
                if (r > 0 && line.rfind("error: ", 0) == 0) line.insert(7, fmt::format("rank {}: ", r));
                std::fprintf(stderr, "%s\n", line.c_str());
                std::fflush(stderr);
            }
            return {r, s};
        }
        return {-1, 0};
    }

    std::string difference(const std::string& lines) override {
        const int length = static_cast<int>(lines.size());
        std::vector<int> lengths(static_cast<std::size_t>(ranks())), offsets(lengths.size());
        check(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
        int total = 0;
        for (std::size_t r = 0; r < lengths.size(); ++r) {
            offsets[r] = total;
            total += lengths[r];
        }
        std::string all(static_cast<std::size_t>(total), '\0');
        check(MPI_Allgatherv(lines.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                             MPI_COMM_WORLD),
              "MPI_Allgatherv");
        const auto text_of = [&](std::size_t r) {
            return all.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(lengths[r]));
        };
        const std::vector<std::string> first = split_lines(text_of(0));
        for (std::size_t r = 1; r < lengths.size(); ++r) {
            const std::vector<std::string> theirs = split_lines(text_of(r));
            for (std::size_t i = 0; i < std::max(first.size(), theirs.size()); ++i) {
                const std::string a = i < first.size() ? first[i] : "(nothing)";
                const std::string b = i < theirs.size() ? theirs[i] : "(nothing)";
                if (a != b) return fmt::format("rank {} has {}, rank 0 has {}", r, b, a);
            }
        }
        return "";
    }

    void attach(nnfuse::network& net) override { net.set_chunk_exchange(&exchange_); }
    const nnfuse::chunk_exchange& exchange() const override { return exchange_; }

    void say_when_stopped(const std::string& line) override {
        stopped_length = std::min(line.size() + 1, sizeof stopped_line);
        std::memcpy(stopped_line, line.data(), stopped_length - 1);
        stopped_line[stopped_length - 1] = '\n';
        struct sigaction action {};
        action.sa_handler = on_stopped;
        sigemptyset(&action.sa_mask);
        sigaction(SIGTERM, &action, nullptr);
    }

private:
    static void check(int status, const char* call) {
        if (status == MPI_SUCCESS) return;
        throw std::runtime_error(fmt::format("{} failed (another rank has gone?)", call));
    }

    // Open MPI needs no arguments of the program's (mpirun passes what it needs in the environment).
    int argc_ = 1;
    char name_[8] = "nnfuse";
    char* args_[2] = {name_, nullptr};
    char** argv_ = args_;
    nnfuse::mpi_environment mpi_;
    nnfuse::mpi_chunk_exchange exchange_;
};

std::unique_ptr<mpi_session>& session() {
    static std::unique_ptr<mpi_session> current;
    return current;
}

}  // namespace

void start_distributed() {
    if (!session()) session() = std::make_unique<mpi_session>();
}

distributed_session* current_distributed() { return session().get(); }

void finish_distributed() { session().reset(); }

void abort_distributed(int status) {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, status);
    std::_Exit(status);  // MPI_Abort does not return
}

}  // namespace samples
