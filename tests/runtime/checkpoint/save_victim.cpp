// The process the kill test kills: saves training checkpoints of generation FIRST, FIRST+1, ... to FILE
// forever, printing "saved <g>" on stdout after each save returns.
//   save_victim FILE FIRST
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "fashion_mnist.gen.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "tests/runtime/checkpoint/kill_test_generation.hpp"

int main(int argc, char** argv) {
    if (argc != 3) {
        fmt::print(stderr, "usage: save_victim FILE FIRST_GENERATION\n");
        return 2;
    }
    nnfuse::generated::fashion_mnist::Net net(2);
    nnfuse::adam opt;
    std::vector<nnfuse::parameter_ref> params;
    for (const auto& v : net.variables())
        if (v.trainable) params.push_back({v.name, v.value, v.grad});
    opt.prepare(params);
    for (std::uint64_t g = std::strtoull(argv[2], nullptr, 10);; ++g) {
        kill_test::set_generation(net, opt, g);
        nnfuse::save_training_checkpoint(argv[1], net, opt, {g, 0});
        const std::string line = fmt::format("saved {}\n", g);
        if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 1;
    }
}
