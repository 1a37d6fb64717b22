// --distributed in an nnfuse built without MPI (see distributed.hpp): the one error that says so.
#include <cstdlib>
#include <stdexcept>

#include "samples/common/distributed.hpp"

namespace samples {

void start_distributed() {
    throw std::runtime_error(
        "this nnfuse was built without MPI: install Debian's openmpi-bin and libopenmpi-dev, reconfigure the build "
        "(meson setup --reconfigure) and rebuild");
}

distributed_session* current_distributed() { return nullptr; }

void finish_distributed() {}

void abort_distributed(int status) { std::_Exit(status); }

}  // namespace samples
