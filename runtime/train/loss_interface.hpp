// nnfuse::network's loss side: what a batch is trained against (batch_targets), what a step returns
// (batch_result) and how a network describes its loss (network_loss), for every loss of dsl/loss.hpp.
//
// batch_targets: a batch's targets, of the kind the network's loss takes (network_loss::target):
//   class_id      class_ids holds rows ints, each in [0, output size) (not checked: the data loader validates);
//   float_vector  values holds rows * targets_per_sample floats, row after row.
//   The other pointer is ignored. Converts from either pointer, so net.train_batch(x, labels.data(), rows) reads
//   as before.
// class_ids_of(targets, model, loss) / values_of(targets, model, loss): the pointer the loss reads;
//   throws std::invalid_argument naming the model and the loss when the batch carries the other kind (or none).
// batch_result: sums over the batch's samples, in double: the loss, and the loss's metric (for accuracy the count
//   of correct predictions, exact in double; for MAE the sum of the per-sample mean |y - t|). Divide by the number
//   of samples for Keras's figures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "dsl/loss.hpp"

namespace nnfuse {

struct batch_targets {
    const std::int32_t* class_ids = nullptr;
    const float* values = nullptr;

    batch_targets() = default;
    // NOLINTNEXTLINE(google-explicit-constructor): a pointer to class ids is a batch's targets
    batch_targets(const std::int32_t* ids) : class_ids(ids) {}
    // NOLINTNEXTLINE(google-explicit-constructor): a pointer to float targets is a batch's targets
    batch_targets(const float* target_values) : values(target_values) {}
};

struct batch_result {
    double loss_sum = 0.0;
    double metric_sum = 0.0;
};

// A network's loss, as declared in its model (dsl/loss.hpp).
struct network_loss {
    std::string_view keras_name;  // "sparse_categorical_crossentropy", "mean_squared_error"
    target_kind target = target_kind::class_id;
    std::size_t targets_per_sample = 1;
    metric_kind metric = metric_kind::accuracy;
    std::string_view metric_name;  // Keras's name in a history: "accuracy", "mae"
};

inline const std::int32_t* class_ids_of(const batch_targets& targets, std::string_view model, std::string_view loss) {
    if (targets.class_ids == nullptr) {
        throw std::invalid_argument(std::string(model) + ": the loss " + std::string(loss) +
                                    " trains on class ids (batch_targets::class_ids), the batch has " +
                                    (targets.values != nullptr ? "float targets" : "no targets"));
    }
    return targets.class_ids;
}

inline const float* values_of(const batch_targets& targets, std::string_view model, std::string_view loss) {
    if (targets.values == nullptr) {
        throw std::invalid_argument(std::string(model) + ": the loss " + std::string(loss) +
                                    " trains on float targets (batch_targets::values), the batch has " +
                                    (targets.class_ids != nullptr ? "class ids" : "no targets"));
    }
    return targets.values;
}

}  // namespace nnfuse
