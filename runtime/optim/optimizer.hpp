// optimizer: updates parameters in place from their gradients, with Keras's update rules.
//
// step(params)
//   requires: for each parameter value.size() == grad.size(); on every call after the first, the same
//             list shape: same count, and at each position the same name and size (state is keyed by
//             position). Violations throw std::invalid_argument naming the parameter.
//             Also, not checked: no value span overlaps a grad span or another value span (the updates are
//             vectorized, runtime/optim/update_kernels.hpp).
//   ensures:  only the given value spans are written (grads are read, nothing else is touched);
//             iterations() grows by one. Per-parameter state (slots) is created, zeroed, on the first call.
// prepare(params): creates (or checks) the state like step without updating anything, so a checkpoint
//             can be restored into state() before training resumes.
// state():    every slot as "<param name>/<slot>" ("/momentum" for SGD, "/m" and "/v" for Adam) with a
//             writable view; empty before the first step/prepare. Views stay valid until destruction.
// iterations()/set_iterations(): the number of steps taken (Adam's bias correction uses it).
// learning_rate()/set_learning_rate(lr): the rate the next step uses, for schedules and ReduceLROnPlateau
//             (runtime/train/); set_learning_rate requires lr finite and >= 0, else std::invalid_argument.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nnfuse {

struct parameter_ref {
    std::string_view name;
    std::span<float> value;
    std::span<const float> grad;
};

struct optimizer_slot {
    std::string name;  // "<param name>/<slot>"
    std::span<float> values;
};

class optimizer {
public:
    virtual ~optimizer() = default;
    virtual void step(std::span<const parameter_ref> params) = 0;
    virtual void prepare(std::span<const parameter_ref> params) = 0;
    virtual std::vector<optimizer_slot> state() = 0;
    virtual std::uint64_t iterations() const = 0;
    virtual void set_iterations(std::uint64_t steps) = 0;
    virtual float learning_rate() const = 0;
    virtual void set_learning_rate(float learning_rate) = 0;
};

}  // namespace nnfuse
