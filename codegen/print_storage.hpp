// nnfuse::codegen printing of the plan's storage: the Net's members, the arena's layout, the variable and BN tables
// the runtime reads, and the layers' hyper-parameters as constants.
#pragma once

#include <string>

#include "codegen/plan.hpp"

namespace nnfuse::codegen {

// A region's size in floats per unit of its extent: its named constant when it has one.
inline std::string size_of(const storage& s) { return s.size_name.empty() ? std::to_string(s.floats) : s.size_name; }

struct printed_storage {
    std::string size_constants;  // constexpr std::size_t dense_kernel_size = 784 * 20;
    std::string members, constants;
    // The constant tables the constructor reads (runtime/train/net_tables.hpp): their definitions in .gen.cpp and
    // their declarations in the Net (the batch_norm table's comes with the capability's storage).
    std::string tables, table_declarations;
};

printed_storage print_storage(const model_plan& plan);

}  // namespace nnfuse::codegen
