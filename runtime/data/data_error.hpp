// nnfuse::data_error: the one exception type for data sets that cannot be read or do not make sense.
//
// Contract: what() always names the file concerned and says what is wrong with it, in the form
// "<file>: <problem>", so a user can fix the file (or install the package) without a debugger.
#pragma once

#include <stdexcept>
#include <string>

namespace nnfuse {

class data_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace nnfuse
