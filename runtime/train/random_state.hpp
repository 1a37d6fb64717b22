// nnfuse::random_state: what the random numbers drawn during training (dropout's masks) are a function of.
//
// A generated Net whose training draws random numbers holds one and gives it through network::randomness().
// The numbers of training step `step` are a function of (seed, step, and where they are used: row of the batch,
// value of the row), never of the thread that computes them (runtime/kernels/dropout-inl.h), so the state is
// these two integers and nothing else: a training checkpoint that saves them resumes bit-exact.
//   seed: set by trainer::fit from fit_options::seed (so --seed changes the masks as it changes the shuffling);
//   step: the training steps taken, advanced once at the end of each train_batch / train_pixel_batch whatever
//         the thread count (a forward_train alone does not advance it). When every step of a run went through
//         fit with one optimizer, step equals that optimizer's iterations().
#pragma once

#include <cstdint>

namespace nnfuse {

struct random_state {
    std::uint64_t seed = 0;
    std::uint64_t step = 0;
};

// The generated train_batch's last statement: the next step draws new numbers.
inline void advance_random_step(random_state& state) { ++state.step; }

}  // namespace nnfuse
