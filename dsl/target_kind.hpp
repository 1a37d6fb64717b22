// nnfuse::target_kind: what a sample's target is, for a loss (dsl/loss.hpp), a network's batch
// (runtime/train/loss_interface.hpp) and a data set or table read from a file (runtime/data/).
// One enum for all of them, so a data set's targets compare directly with the kind its model's loss takes.
#pragma once

namespace nnfuse {

enum class target_kind {
    none,          // no targets: rows to predict (a table read without target columns); no loss takes it
    class_id,      // one integer class id per sample
    float_vector,  // real values, one or more per sample (regression, probabilities, one-hot or soft labels)
};

}  // namespace nnfuse
