// nnfuse::checkpoint_error: the one exception type for checkpoints that cannot be written, read or used.
//
// Contract: what() is one line of the form "<file>: <problem>", and a problem that concerns one tensor
// names it (`batch_normalization/gamma:0`), so a user can tell which file and which tensor is at fault
// without a debugger. A checkpoint that fails to load has changed nothing in the network or optimizer.
#pragma once

#include <stdexcept>

namespace nnfuse {

class checkpoint_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace nnfuse
