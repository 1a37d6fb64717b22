// adam: Adam with Keras's rule and defaults (tf.keras.optimizers.Adam, epsilon 1e-7 outside the sqrt):
//   t += 1
//   m = beta_1 * m + (1 - beta_1) * g                    (slot "<param>/m", starts at 0)
//   v = beta_2 * v + (1 - beta_2) * g^2                  (slot "<param>/v", starts at 0)
//   alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)     (computed in double, once per step)
//   w -= alpha * m / (sqrt(v) + epsilon)
// t is iterations() + 1, so a restored set_iterations() continues the bias correction exactly.
// Constructor requires learning_rate finite and > 0, betas in [0, 1), epsilon finite and > 0; violations
// throw std::invalid_argument naming the value. See optimizer.hpp for step().
#pragma once

#include "runtime/optim/optimizer.hpp"
#include "runtime/optim/slot_table.hpp"

namespace nnfuse {

class adam final : public optimizer {
public:
    explicit adam(float learning_rate = 1e-3f, float beta_1 = 0.9f, float beta_2 = 0.999f, float epsilon = 1e-7f);

    void step(std::span<const parameter_ref> params) override;
    void prepare(std::span<const parameter_ref> params) override;
    std::vector<optimizer_slot> state() override { return slots_.state(); }
    std::uint64_t iterations() const override { return iterations_; }
    void set_iterations(std::uint64_t steps) override { iterations_ = steps; }

    float learning_rate() const override { return learning_rate_; }
    void set_learning_rate(float learning_rate) override;  // finite and >= 0 (a schedule may end at 0)
    float beta_1() const { return beta_1_; }
    float beta_2() const { return beta_2_; }
    float epsilon() const { return epsilon_; }

private:
    float learning_rate_;
    float beta_1_;
    float beta_2_;
    float epsilon_;
    std::uint64_t iterations_ = 0;
    slot_table slots_;
};

}  // namespace nnfuse
