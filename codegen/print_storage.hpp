// nnfuse::codegen printing of the plan's storage: the Net's members, the arena's layout, the variable and BN tables
// the runtime reads, and the layers' hyper-parameters as constants.
#pragma once

#include <string>

#include "codegen/plan.hpp"

namespace nnfuse::codegen {

struct printed_storage {
    std::string members, arena_offsets, arena_pointers, variable_table, bn_table, constants;
};

printed_storage print_storage(const model_plan& plan);

}  // namespace nnfuse::codegen
