// nnfuse::codegen::layers, conv_bn_moments: in training, a batch_norm's chunk statistics taken by the linear Conv2D
// whose output it normalizes (runtime/kernels/conv2d_bn_moments-inl.h).
//
// The Conv2D's forward writes each output row and, while the row is in L1, folds its per-filter sums into the chunk's
// record; the BN then merges the records as always and never reads the chunk's feature map for its statistics. The
// record has the format and precision of BnChunkMoments' (blocks cut at whole output rows), so the merge, the moving
// statistics and the exchange between processes are unchanged.
#pragma once

#include "codegen/layers/plan_builder.hpp"

namespace nnfuse::codegen::layers {

// Whether `bn`, the step after `conv`, may take its chunk statistics from `conv`'s forward: a linear conv2d, a
// trainable batch_norm with chunked statistics reading the conv2d's output (one channel a filter), at most
// one panel of filters (kernels::bn_panel_features).
bool moments_in_conv_epilogue(const step& conv, const step& bn);
// The chunk records `bn`'s statistics are kept in (also what the conv2d's forward writes into).
storage chunk_statistics_records(const step& bn, std::size_t features);

}  // namespace nnfuse::codegen::layers
