// nnfuse::codegen::layers, conv_bn_input: in training, a batch_norm (with the activation fused into it) applied by
// the Conv2D that reads its output, as that Conv2D copies its input rows into its band
// (runtime/kernels/conv2d_bn_input-inl.h). The names, template arguments and input arguments below serve a max pool
// applying a BN too (pool2d.hpp, pooling_bn_input-inl.h).
//
// The BN's output map then never exists in training: the Conv2D's forward and kernel gradient read the BN's input and
// normalize each value with the BN's operations (the same bits), and the BN's backward recomputes its output (for the
// activation's derivative) from its input. The BN keeps its statistics, their merge, the moving statistics and its
// backward; inference (where the BN is folded into the conv2d before it, or runs on its own) is unchanged.
#pragma once

#include <string>
#include <vector>

#include "codegen/layers/plan_builder.hpp"
#include "codegen/plan.hpp"

namespace nnfuse::codegen::layers {

// Whether `bn` may be applied by `conv`, the step after it reading its output: a trainable batch_norm with its own
// normalize pass (not folded into a dense layer), over the conv2d's input channels, an element-wise activation; a
// conv2d whose input rows fit the kernel's per-row constants (kernels::kBnInputMaxRowFloats). The caller checks that
// nothing else reads the BN's output.
bool applied_by_next_conv(const step& bn, const step& conv);

// What a conv2d's kernels applying `bn` add to the plain ones: the name's suffix ("_bn_relu") and the template
// arguments after the conv2d's own (BnAct, Scale, Center).
std::string bn_input_suffix(const step& bn);
std::vector<template_argument> bn_input_template_arguments(const step& bn);
// Step s's input x: its own input buffer, or, where s applies a BN (applies_bn_input_of), the BN's input followed by
// the BN's constants (batch_mean, inv_std, gamma, beta).
std::vector<argument> input_arguments(const step& s, plan_builder& b);
// The reason the manifest gives.
std::string bn_input_why(const step& bn);

}  // namespace nnfuse::codegen::layers
