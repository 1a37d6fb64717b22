// nnfuse::codegen::plan: the fusion planner's decisions for one model.
//
// make_plan() turns the model's layers into steps, each one generated kernel call, and the
// buffers between them. What it fuses, and why:
//   - flatten is a reshape: no step, the next step reads the same buffer;
//   - an element-wise activation layer after a linear dense or batch_norm step is applied in that
//     step's kernel (no extra pass; its derivative comes from the step's output in backward);
//   - the final softmax moves into the loss: softmax + cross-entropy have the fused gradient
//     p - onehot(label), so the last step produces logits;
//   - a trainable batch_norm (no activation of its own, one row per sample, gamma and beta) that
//     normalizes the model's input and feeds a dense layer is folded into that dense layer: BN keeps
//     only xhat, the dense layer applies gamma and beta through its kernel and bias, and BN's
//     gradients come from the dense layer's (runtime/kernels/bn_dense_fold-inl.h). Its input
//     gradient would need the [N, In] product dz . kernel^T that this saves, hence "model's input".
// requires: the model ends in softmax (sparse categorical cross-entropy); softmax only there.
// Violations throw plan_error with a message for the model's author.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "codegen/model_description.hpp"

namespace nnfuse::codegen {

struct plan_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A [batch, per_sample] float buffer; buffer 0 is the model's input, owned by the caller.
struct buffer_plan {
    std::string name;
    std::size_t per_sample = 0;
};

enum class step_kind { dense, batch_norm, activation };

struct step_plan {
    step_kind kind = step_kind::dense;
    const layer_description* layer = nullptr;  // the layer whose kernel this step runs
    std::vector<std::string> covers;           // names of the layers this step computes
    activation_kind activation = activation_kind::linear;  // applied inside the step's kernel
    std::size_t in = 0, out = 0;               // buffer indices
    bool needs_input_grad = false;             // false when the input is the model's input
    std::size_t bn_index = 0;                  // for batch_norm steps: which BN layer
    bool folded_into_next = false;             // batch_norm: writes xhat; the next (dense) step applies gamma, beta
    bool applies_previous_bn = false;          // dense: reads xhat and applies the previous step's gamma and beta
    std::string why;                           // for the manifest
};

struct model_plan {
    std::vector<buffer_plan> buffers;
    std::vector<step_plan> steps;
    std::size_t logits = 0;     // buffer the loss reads
    std::size_t classes = 0;
    std::size_t input_size = 0;
    std::vector<std::string> notes;  // decisions that are not a step (flatten, softmax into the loss)
};

struct plan_options {
    bool fold_bn_into_dense = true;  // off only to test the folded path against the plain one
};

model_plan make_plan(const std::vector<layer_description>& layers, const plan_options& options = {});

}  // namespace nnfuse::codegen
