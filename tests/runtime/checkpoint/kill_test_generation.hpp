// The checkpoints of the kill test: generation g of the reference model's training state, every value a
// function of g, so a file read back can be checked for completeness and consistency, not just parsed.
// Shared by the saving process (save_victim.cpp) and the test that kills it (test_kill_during_save.cpp).
#pragma once

#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "runtime/optim/adam.hpp"
#include "runtime/train/network.hpp"

namespace kill_test {

// Exact in float: a multiple of 1/8 below 125.
inline float pattern(std::uint64_t generation, std::size_t tensor, std::size_t index) {
    return static_cast<float>((generation * 131 + tensor * 17 + index) % 1000) / 8.0f;
}

// Sets every variable and optimizer slot, and the optimizer's step count, to generation g.
inline void set_generation(nnfuse::network& net, nnfuse::adam& opt, std::uint64_t generation) {
    std::size_t tensor = 0;
    for (const auto& v : net.variables()) {
        for (std::size_t i = 0; i < v.value.size(); ++i) v.value[i] = pattern(generation, tensor, i);
        ++tensor;
    }
    for (const auto& slot : opt.state()) {
        for (std::size_t i = 0; i < slot.values.size(); ++i) slot.values[i] = pattern(generation, tensor, i);
        ++tensor;
    }
    opt.set_iterations(generation);
}

// "" when the network and optimizer hold generation g exactly; otherwise the first difference.
inline std::string generation_problem(nnfuse::network& net, nnfuse::adam& opt, std::uint64_t generation) {
    if (opt.iterations() != generation)
        return fmt::format("iterations {} in generation {}", opt.iterations(), generation);
    std::size_t tensor = 0;
    for (const auto& v : net.variables()) {
        for (std::size_t i = 0; i < v.value.size(); ++i)
            if (v.value[i] != pattern(generation, tensor, i))
                return fmt::format("{}[{}] is not of generation {}", v.name, i, generation);
        ++tensor;
    }
    for (const auto& slot : opt.state()) {
        for (std::size_t i = 0; i < slot.values.size(); ++i)
            if (slot.values[i] != pattern(generation, tensor, i))
                return fmt::format("{}[{}] is not of generation {}", slot.name, i, generation);
        ++tensor;
    }
    return "";
}

}  // namespace kill_test
