// nnfuse::codegen::layers, bn_dense_fold: a trainable batch_norm on the model's input folded into the dense layer
// that reads it (runtime/kernels/bn_dense_fold-inl.h).
//
// BN keeps only xhat: its statistics come chunk by chunk (any thread), merged once in chunk order; each chunk is
// normalized in the parallel phase of the dense layer that reads it. The dense layer applies gamma and beta through
// a per-thread copy of its kernel and bias, and BN's gradients come from the dense layer's (no dy pass over [N, In]
// and no BN backward). Its input gradient would need the product dz . kernel^T that this saves, hence "the model's
// input". The BN's reads of x have uint8-pixel variants: train_pixel_batch then needs no float copy of the batch.
#pragma once

#include "codegen/layers/plan_builder.hpp"
#include "runtime/kernels/dense_along_inputs.hpp"

namespace nnfuse::codegen::layers {

// Whether the folded copy of a dense layer of `in` inputs holds the kernel transposed, [units, in]: a layer that long
// computes its forward along its inputs (runtime/kernels/dense_forward_along_inputs-inl.h), which reads the kernel's
// columns; the fold writes them once a step, so that no chunk transposes the kernel again.
constexpr bool folded_kernel_transposed(std::size_t in) { return in >= kernels::dense_min_along_inputs; }

// Whether `bn` may be folded into `next`.
bool foldable(const step& bn, const step& next);
// The folded BN's statements (instead of batch_norm's) and the folded dense layer's (instead of dense's).
void plan_folded_bn(const batch_norm_parameters& layer, const step& s, plan_builder& b);
void plan_folded_dense(const dense_parameters& layer, const step& s, plan_builder& b, std::size_t forward_kernel,
                       std::size_t backward_kernel);

}  // namespace nnfuse::codegen::layers
