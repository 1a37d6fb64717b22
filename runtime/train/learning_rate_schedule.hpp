// Learning-rate schedules: Keras's LearningRateSchedule, the rate as a function of the optimizer's step count.
//
// fit (trainer.hpp, fit_options::schedule) sets the optimizer's rate to learning_rate(iterations()) before each
// step, as Keras evaluates a schedule at optimizer.iterations; a resumed run restores iterations and so continues
// the schedule exactly. Steps count optimizer updates, not epochs (decay_steps = epochs * batches per epoch).
//   exponential_decay: initial * decay_rate^(step / decay_steps), the exponent floored when staircase (Keras's
//                      ExponentialDecay). step_decay(initial, step_size, factor) is the staircase form: the rate
//                      times factor every step_size steps (PyTorch's StepLR counted in steps).
//   cosine_decay:      initial * ((1 - alpha) * (1 + cos(pi * min(step, decay_steps) / decay_steps)) / 2 + alpha)
//                      (Keras's CosineDecay without warm-up; PyTorch's CosineAnnealingLR with eta_min =
//                      alpha * initial, held at the end).
//   piecewise_constant_decay: values[0] up to and including step boundaries[0], values[i] for boundaries[i-1] <
//                      step <= boundaries[i], values.back() after the last (Keras's PiecewiseConstantDecay).
// Rates are computed in double and rounded to float once. Constructors require (else std::invalid_argument naming
// the value): rates finite and > 0 (values >= 0), decay_steps and step_size > 0, decay_rate and factor finite and
// > 0, alpha in [0, 1], boundaries strictly increasing with values.size() == boundaries.size() + 1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nnfuse {

class learning_rate_schedule {
public:
    virtual ~learning_rate_schedule() = default;
    virtual float learning_rate(std::uint64_t step) const = 0;
    // For logs and checkpoints' metadata, e.g. "exponential_decay(initial=0.01, decay_steps=100, ...)".
    virtual std::string describe() const = 0;
};

struct exponential_decay_options {
    float initial_learning_rate = 0.0f;
    std::uint64_t decay_steps = 0;
    double decay_rate = 0.0;
    bool staircase = false;
};

class exponential_decay final : public learning_rate_schedule {
public:
    explicit exponential_decay(const exponential_decay_options& options);
    float learning_rate(std::uint64_t step) const override;
    std::string describe() const override;

private:
    exponential_decay_options options_;
};

exponential_decay step_decay(float initial_learning_rate, std::uint64_t step_size, double factor);

class cosine_decay final : public learning_rate_schedule {
public:
    cosine_decay(float initial_learning_rate, std::uint64_t decay_steps, double alpha = 0.0);
    float learning_rate(std::uint64_t step) const override;
    std::string describe() const override;

private:
    float initial_;
    std::uint64_t decay_steps_;
    double alpha_;
};

class piecewise_constant_decay final : public learning_rate_schedule {
public:
    piecewise_constant_decay(std::vector<std::uint64_t> boundaries, std::vector<float> values);
    float learning_rate(std::uint64_t step) const override;
    std::string describe() const override;

private:
    std::vector<std::uint64_t> boundaries_;
    std::vector<float> values_;
};

}  // namespace nnfuse
