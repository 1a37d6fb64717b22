// The nnfuse side of the numpy interop test: trains the reference model for a few Adam steps on fixed
// random data, saves a training checkpoint to FILE, and prints every tensor it holds in memory, one per
// line: "name|dtype|dim,dim|v v v ..." with floats in C's hex notation (%a, exact) and counters in decimal.
//   write_for_python FILE
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fashion_mnist.gen.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"
#include "tests/runtime/network/test_helpers.hpp"

namespace {

void print_floats(std::string_view name, std::string_view dims, std::span<const float> values) {
    std::string line = fmt::format("{}|F32|{}|", name, dims);
    for (std::size_t i = 0; i < values.size(); ++i) line += fmt::format("{}{:a}", i ? " " : "", values[i]);
    std::puts(line.c_str());
}

std::string dims_of(const nnfuse::variable_ref& v) {
    return v.name.ends_with("kernel:0") ? fmt::format("{},{}", v.fan_in, v.fan_out) : std::to_string(v.value.size());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        fmt::print(stderr, "usage: write_for_python FILE\n");
        return 2;
    }
    nnfuse::generated::fashion_mnist::Net net(9);
    nnfuse::initialize_variables(net, 7);
    nnfuse::adam opt;
    const auto data = test_support::random_images(40, 28, 28, 10, 11);
    nnfuse::fit_options options;
    options.epochs = 1;
    options.batch_size = 8;
    nnfuse::trainer(net, opt).fit(data, options);
    nnfuse::save_training_checkpoint(argv[1], net, opt, {1, 42});

    for (const auto& v : net.variables()) print_floats(v.name, dims_of(v), v.value);
    for (const auto& slot : opt.state()) {
        std::string dims = std::to_string(slot.values.size());
        for (const auto& v : net.variables())
            if (slot.name.starts_with(std::string(v.name) + "/")) dims = dims_of(v);
        print_floats("optimizer/" + slot.name, dims, slot.values);
    }
    std::printf("optimizer/iterations|I64||%llu\n", static_cast<unsigned long long>(opt.iterations()));
    for (const auto& bn : net.bn_layers()) {
        std::printf("training/%.*s/batches_seen|I64||%llu\n", static_cast<int>(bn.name.size()), bn.name.data(),
                    static_cast<unsigned long long>(*bn.batches_seen));
    }
    return 0;
}
