// nnfuse::normalization_statistics: an optional capability of a network (runtime/train/network.hpp) whose model
// standardizes its input with a normalization layer (Keras's Normalization): where that layer's statistics live,
// for adapt() (runtime/train/adapt.hpp), which fits them without knowing the model.
//
// Reached through network::as_normalization_statistics(), which returns nullptr for a network without a
// normalization layer; a generated Net offers it exactly when its model has one
// (codegen/templates/snippets/normalization_statistics_members.in). A model has at most one: the DSL puts it right
// after the input (or a flatten), so the layer's input is the network's input, each sample rows_per_sample rows of
// `features` values (features * rows_per_sample == input_size()).
//   normalization_layer(): the layer's name and its variables; the spans point into the network and are valid as
//       long as it is. mean, variance and count are also among network::variables() (initialized, saved and
//       restored with the others): mean and variance hold `features` floats, count one (the values per feature
//       adapt() saw, Keras's int64 count held as a float).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "runtime/train/network.hpp"

namespace nnfuse {

struct normalization_layer_ref {
    std::string_view name;
    std::size_t features = 0;         // the last axis of a sample
    std::size_t rows_per_sample = 1;  // values per feature in one sample
    std::span<float> mean, variance;
    float* count = nullptr;
};

class normalization_statistics {
public:
    virtual normalization_layer_ref normalization_layer() = 0;

protected:
    // Not owned through this interface: the network that offers it owns it.
    ~normalization_statistics() = default;
};

}  // namespace nnfuse
