// nnfuse::pixel_training: an optional capability of a network (runtime/train/network.hpp): a training step on
// rows of a uint8 image set (runtime/data/pixel_rows.hpp) without a float copy of the batch made by the caller.
//
// Reached through network::as_pixel_training(), which returns nullptr for a network without it; the trainer then
// widens the rows to floats itself (gather_pixel_rows) and calls network::train_batch, which gives the same step.
// Every generated Net offers it: a model whose first layer is a batch normalization folded into a dense layer
// reads the pixels itself (its statistics from exact integer sums, xhat from the pixels: no float copy of the
// batch, see the manifest); any other widens the rows chunk by chunk on the thread that trains that chunk, inside
// the step's first parallel phase. Both ask for batch.next_samples' rows to be brought into cache.
//   train_pixel_batch(batch, targets): train_batch's step (network.hpp) on the rows batch.samples, each pixel times
//       batch.scale; targets hold batch.samples.size() samples' targets, of the kind the network's loss takes.
//       throws std::invalid_argument unless batch.row_size == input_size() and every index of batch.samples and
//       batch.next_samples is a row of the set, and as train_batch for its row count.
#pragma once

#include "runtime/data/pixel_rows.hpp"
#include "runtime/train/network.hpp"

namespace nnfuse {

class pixel_training {
public:
    virtual batch_result train_pixel_batch(const pixel_batch& batch, batch_targets targets) = 0;

protected:
    // Not owned through this interface: the network that offers it owns it.
    ~pixel_training() = default;
};

}  // namespace nnfuse
