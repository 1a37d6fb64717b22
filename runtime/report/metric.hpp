// metric: one named value of a training log line ("loss", "accuracy", "val_loss", ...), as the progress
// bar shows it and the history records it. The value is what the caller computed (for Keras-like output:
// the running average over the epoch so far); the report code never averages.
#pragma once

#include <string>

namespace nnfuse {

struct metric {
    std::string name;
    double value = 0.0;
};

}  // namespace nnfuse
