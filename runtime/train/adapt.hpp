// nnfuse::adapt(net, rows, row_count) and adapt(net, data_set): Keras's Normalization.adapt(): fits the network's
// normalization layer to data (the caller's float rows, or any data set: runtime/data/data_set.hpp, read a block
// of rows at a time; the same rows give the same bits either way).
//
// Sets the layer's variables (runtime/train/normalization_statistics.hpp) to the statistics of `rows`, feature by
// feature (the last axis of a sample): mean, the biased (population) variance and count, the number of values per
// feature (row_count * rows_per_sample; row_count for a rank-1 input), as Keras's adapt does over the whole data
// (its moments are tf.nn.moments': biased). Computed in double, two passes in row order (the sum, then the sum of
// squared deviations from the mean), each rounded to float once: the same rows give the same bits.
// Call it after initialize_variables (which resets the statistics to mean 0, variance 1, count 0) and before fit, on
// the training rows only: statistics taken from validation or test rows would leak them into the model. The
// statistics are variables: checkpoints save them, and predictions on new rows use them.
// requires: rows holds row_count * net.input_size() floats (one sample per row, as train_batch takes them).
// throws: std::invalid_argument naming the model when a data set has rows of another size than the input; when the
// network has no normalization layer; when row_count is 0
//         or rows is null; naming the row and the value's index in it for a non-finite value; naming the feature
//         for a mean or variance beyond float's range. Nothing is changed when it throws.
#pragma once

#include <cstddef>

#include "runtime/data/data_set.hpp"
#include "runtime/train/network.hpp"

namespace nnfuse {

void adapt(network& net, const float* rows, std::size_t row_count);
void adapt(network& net, const data_set& rows);

}  // namespace nnfuse
