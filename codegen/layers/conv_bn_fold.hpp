// nnfuse::codegen::layers, conv_bn_fold: in inference, a batch_norm over a Conv2D's output folded into that Conv2D's
// kernel and bias (runtime/kernels/bn_conv_fold.hpp).
//
// BN with its moving statistics is an affine map per channel, so the Conv2D can write BN's output (and its activation)
// itself: once per forward_infer call, before the pieces, the kernel and bias are scaled and shifted into a folded
// copy; each piece then runs one convolution instead of a convolution and a pass of BN over the feature map. When
// forward_infer stops before that BN (its population statistics read its input), the Conv2D runs unfolded instead.
// Training is unchanged: BN's batch statistics are not an affine map fixed in advance.
#pragma once

#include "codegen/layers/plan_builder.hpp"

namespace nnfuse::codegen::layers {

// Whether `next`, a batch_norm reading `conv`'s output, may be folded into `conv` for inference (the caller checks
// that nothing else reads that output).
bool foldable_for_inference(const step& conv, const step& next);
// The Conv2D's inference statements with `bn` folded in: the fold, the unfolded Conv2D when stopping before `bn` (then
// the last statement), and the folded Conv2D writing `bn`'s output. batch_norm's plan_inference then adds nothing but
// its input.
void plan_folded_conv_inference(const conv2d_parameters& layer, const step& conv, const step& bn, plan_builder& b);

}  // namespace nnfuse::codegen::layers
