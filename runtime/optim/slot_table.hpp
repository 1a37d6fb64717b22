// slot_table: the per-parameter buffers of an optimizer (SGD momentum, Adam m and v), all kinds for all
// parameters, bound to the shape of the first parameter list it sees.
//
// bind(params): the first call records each parameter's name and size and creates zeroed slots; later
//   calls check that the list has the same shape and throw std::invalid_argument otherwise. Every call
//   checks value.size() == grad.size(). `owner` ("sgd", "adam") starts each message.
// slot(param, kind): the buffer of slot `kind` (index into slot_names) of parameter `param`.
// state(): all slots named "<param name>/<slot name>", parameter-major.
#pragma once

#include "runtime/optim/optimizer.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nnfuse {

class slot_table {
public:
    slot_table(std::string_view owner, std::vector<std::string> slot_names);

    void bind(std::span<const parameter_ref> params);
    bool bound() const { return bound_; }
    std::span<float> slot(std::size_t param, std::size_t kind) { return buffers_[param * slot_names_.size() + kind]; }
    std::vector<optimizer_slot> state();

private:
    std::string owner_;
    std::vector<std::string> slot_names_;
    bool bound_ = false;
    std::vector<std::string> param_names_;
    std::vector<std::size_t> param_sizes_;
    std::vector<std::vector<float>> buffers_;  // param-major: [param * kinds + kind]
};

}  // namespace nnfuse
