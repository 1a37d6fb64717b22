// sgd: stochastic gradient descent with optional (Nesterov) momentum, Keras's rule (tf.keras.optimizers.SGD):
//   momentum == 0:  w -= lr * g                       (no state)
//   otherwise:      v = momentum * v - lr * g          (slot "<param>/momentum", starts at 0)
//                   w += v                             or, nesterov:  w += momentum * v - lr * g
// Constructor requires learning_rate finite and > 0 and momentum in [0, 1);
// violations throw std::invalid_argument naming the value (nesterov without momentum is plain SGD, as in
// Keras). See optimizer.hpp for step().
#pragma once

#include "runtime/optim/optimizer.hpp"
#include "runtime/optim/slot_table.hpp"

namespace nnfuse {

class sgd final : public optimizer {
public:
    explicit sgd(float learning_rate = 0.01f, float momentum = 0.0f, bool nesterov = false);

    void step(std::span<const parameter_ref> params) override;
    void prepare(std::span<const parameter_ref> params) override;
    std::vector<optimizer_slot> state() override { return slots_.state(); }
    std::uint64_t iterations() const override { return iterations_; }
    void set_iterations(std::uint64_t steps) override { iterations_ = steps; }

    float learning_rate() const override { return learning_rate_; }
    void set_learning_rate(float learning_rate) override;  // finite and >= 0 (a schedule may end at 0)
    float momentum() const { return momentum_; }
    bool nesterov() const { return nesterov_; }

private:
    float learning_rate_;
    float momentum_;
    bool nesterov_;
    std::uint64_t iterations_ = 0;
    slot_table slots_;
};

}  // namespace nnfuse
