// nnfuse::codegen::model_plan: the generator's decisions for one model, as data the printers only print.
//
// make_plan() turns the layers into steps (fusion groups) and the steps into typed statements, one list per
// generated function. The fusions are rewrites of that plan:
//   - flatten is a reshape: no step, the next step reads the same storage;
//   - an element-wise activation after a dense or batch_norm step is applied in that step's kernel (its
//     derivative comes from the step's output in backward), unless another step reads that step's output too (a
//     residual's input: the Add must sum the value before the activation);
//   - a residual block's Add (the one graph form beyond a chain) is a step reading two buffers: the block's output
//     (step::in) and the residual's input (step::skip_in). The block's output takes the Add's gradient storage (dy
//     reaches it with no statement); the residual input's gradient is the block's first step's dx plus dy, summed
//     in place per chunk right after that step's backward (codegen/layers/add.cpp);
//   - the loss reads the last step's output; its module (codegen/losses/) may take the last activation into its
//     kernel: the final softmax moves into sparse categorical cross-entropy (gradient p - onehot(label));
//   - a trainable batch_norm (no activation, one row per sample, gamma and beta) on the model's input that feeds a
//     dense layer, and nothing else, is folded into it (codegen/layers/bn_dense_fold.hpp);
//   - train_pixel_batch reads uint8 pixels itself when every statement of train_batch that reads the input x has a
//     pixel variant; otherwise it widens the batch to floats and runs train_batch's statements on those.
// Storage is derived from the statements: a region exists when a statement (or the variable table) names it.
// requires: the loss can train the last layer (a classifier ends in softmax, a regression does not); softmax only
// there; a residual block computes something (a block of reshapes only would add x to itself).
// Violations throw plan_error with a message for the model's author.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "codegen/kernel_signatures.hpp"
#include "codegen/loss_description.hpp"
#include "codegen/model_description.hpp"

namespace nnfuse::codegen {

struct plan_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// --- storage -------------------------------------------------------------------------------------------------

enum class extent {
    caller,         // not allocated: a function argument or a local (x, labels)
    rows,           // max_batch rows of `floats` each
    fixed,          // `floats`
    partials,       // one copy of `floats` per chunk after the first (a reduction's partial sums)
    chunk_moments,  // one BN moments record of `floats` features per chunk
    thread_copies,  // a per_thread_copies member of `floats`, one copy per thread
};

struct storage {
    std::string name;  // the member is name + "_" (a caller's storage is name itself)
    extent size = extent::fixed;
    std::size_t floats = 0;
    std::string what = {};
    std::size_t tail = 0;  // thread_copies: floats after the first `floats`, from the next whole cache line on
    // A named constant for `floats` ("dense_kernel_size") and its expression ("784 * 20"), when it is a product.
    std::string size_name = {}, size_expression = {};
    bool operator==(const storage&) const = default;
};

// --- arguments -----------------------------------------------------------------------------------------------

// How an argument is written depends on the statement's phase: in a per-chunk statement `rows` of a storage are
// the chunk's rows, in a whole-batch statement all of them.
struct argument {
    enum class form {
        value,       // `text` as it is
        whole,       // the storage itself
        rows,        // the phase's rows of the storage, `per_row` floats each
        chunk_slot,  // where this chunk sums a reduction: the total for chunk 0, its partial copy otherwise
        chunk_part,  // this chunk's record of a chunk_moments storage
        at,          // the storage plus the offset `text`
        row_count,   // the phase's row count times `per_row` (count or rows)
    };
    form kind = form::value;
    std::string text = {};
    std::optional<storage> target = {};    // the storage named (whole, rows, chunk_part, at; chunk_slot's total)
    std::optional<storage> partials = {};  // chunk_slot: the partial copies
    std::size_t per_row = 1;               // rows, row_count: floats per row; chunk_slot: the reduction's size
};

argument value(std::string text);
argument whole(const storage& s);
argument rows_of(const storage& s, std::size_t per_row);
argument chunk_slot(const storage& total, const storage& partials);
argument chunk_part(const storage& s);
argument at(const storage& s, std::string offset);
argument row_count(std::size_t per_row = 1);

// A gradient summed over rows: each chunk writes its slot, the partials are added into the total in chunk order.
struct reduction {
    storage total, partials;
    bool operator==(const reduction&) const = default;
};

// --- kernels and statements ------------------------------------------------------------------------------------

// One generated kernel: a per-target wrapper that instantiates a building block, and its dispatch entry.
// Name grammar: <op>_<dir>_f32_<shape>[_<activation>][_<variant>], e.g. dense_fwd_f32_k784_n20_elu.
struct kernel {
    std::string name = {};
    const kernel_signature* signature = nullptr;
    std::vector<template_argument> template_arguments = {};
    std::string shapes = {}, layers = {}, why = {};  // for the manifest
    // Declarations the wrapper makes before its call, named by template arguments (a convolution's `window`), each
    // line indented as the wrapper's body is.
    std::string locals = {};
};

enum class phase {
    per_chunk,    // once per chunk of rows (per piece in inference), in one parallel phase with its neighbours
    whole_batch,  // once, between parallel phases (in inference: once, before the pieces)
    task,         // once, on a free thread, in the parallel phase of the per-chunk statements next to it
};

// A call of a generated kernel (by index in model_plan::kernels) or of a runtime function (no index), one argument
// per parameter of its signature. With `into_thread_copy`, the call makes the calling thread's copy of that storage
// (per_thread_copies) before the first read of it in the step, and writes the copy where the storage is named.
struct call {
    std::optional<std::size_t> kernel = {};
    const kernel_signature* signature = nullptr;
    std::vector<argument> arguments = {};
    std::optional<storage> into_thread_copy = {};
};
// Training needs more than one value per feature: throws the framework's message otherwise.
struct check_statistics_rows {
    std::size_t rows_per_sample = 1;
    std::vector<std::size_t> sample_dims = {};
};
// The per-thread copies of `copies` turn stale: made again where each thread first reads them.
struct begin_step {
    storage copies = {};
};
struct reset_chunk_result {};
// Inference stops before BN layer `bn_index` (bn_input) and returns that layer's input.
struct stop_before_bn {
    std::size_t bn_index = 0;
};

// Which input of a training step a statement of model_plan::train_step runs for: any, or only the float rows
// (train_batch) or only the uint8 pixels (train_pixel_batch).
enum class step_input { any, floats, pixels };

struct statement {
    std::string id = {};  // "<layer>.<role>": how a rewrite finds it
    phase when = phase::whole_batch;
    std::string comment = {};
    std::variant<call, check_statistics_rows, begin_step, reset_chunk_result, stop_before_bn> action = {};
    std::vector<reduction> merges = {};  // after this statement's phase, in this order
    // Inference only: the statement runs only when forward_infer stops before this BN layer, as the last it runs (the
    // unfolded form of a step whose output that BN's population statistics read).
    std::optional<std::size_t> only_stopping_before_bn = {};
    // train_pixel_batch's replacement when this statement reads the input x (empty: none)
    std::vector<statement> pixel_variant = {};
    step_input input = step_input::any;  // train_step only

    std::vector<storage> inputs() const;   // storage read through const pointers
    std::vector<storage> outputs() const;  // storage written (maybe also read)
    bool reads(const std::string& storage_name) const;
};

// How train_batch, train_pixel_batch and evaluate_batch take the loss's targets from their batch_targets
// argument: `const <element_type>* const <storage.name> = <accessor>(targets, model, loss)` (accessor throws
// std::invalid_argument for targets of the other kind).
struct targets_binding {
    storage targets = {};
    std::string element_type = {}, accessor = {};
};

// --- steps and the plan ------------------------------------------------------------------------------------------

// A fusion group: one layer's kernels with what is fused into them.
struct step {
    const layer_description* layer = nullptr;
    std::vector<std::string> covers = {};                  // the layers this step computes
    activation_kind activation = activation_kind::linear;  // applied inside the step's kernel
    std::size_t in = 0, out = 0;                           // buffer indices; 0 is the model's input
    bool needs_input_grad = false;
    // An Add's second operand, the residual's input x (`in` is the block's output), and whether a gradient flows
    // back to it (it does not when nothing before x trains).
    std::optional<std::size_t> skip_in = {};
    bool needs_skip_grad = false;
    std::size_t bn_index = 0;                       // batch_norm: which BN layer
    std::optional<std::size_t> folded_into = {};    // batch_norm: the step that applies its gamma and beta
    std::optional<std::size_t> applies_bn_of = {};  // dense: the BN step whose xhat it reads
    // In inference only: a conv2d step that applies the next step's BN through its kernel and bias (conv_bn_fold.hpp),
    // and that BN step, which then computes nothing there.
    std::optional<std::size_t> infer_applies_bn_of = {};
    bool infer_folded = false;
    // In training: a linear conv2d step whose forward also writes the chunk statistics of the next step's BN
    // (conv_bn_moments.hpp), and that BN step, which then takes none itself.
    std::optional<std::size_t> gives_bn_moments_of = {};
    std::optional<std::size_t> bn_moments_by = {};
    // In training: a conv2d or max_pool2d step that applies the previous step's BN (and its activation) to its input as
    // it reads it (conv_bn_input.hpp, pool2d.hpp), and that BN step, whose output is then never stored in training: the
    // step reads the BN's input, and the BN's backward recomputes its output from its input.
    std::optional<std::size_t> applies_bn_input_of = {};
    std::optional<std::size_t> bn_applied_by = {};
    std::string why = {};
};

struct buffer {
    storage activations, gradient;
};

struct variable_entry {
    std::string keras_name = {};
    storage value = {};
    std::optional<storage> gradient = {};
    initializer init = initializer::zeros;
    std::size_t fan_in = 0, fan_out = 0;  // glorot_uniform: Keras's fans (a dense kernel's two dims)
    bool scalar = false;                  // shape (): one value (normalization's count)
    std::vector<std::size_t> dims = {};   // the shape of a variable of rank > 2 (a Conv2D kernel); empty otherwise
};

struct bn_entry {
    const layer_description* layer = nullptr;
    storage moving_mean, moving_variance;
};

struct model_plan {
    std::vector<buffer> buffers = {};  // buffers[0] is the input x
    std::vector<step> steps = {};
    std::size_t output = 0;   // buffer the loss reads (a classifier's logits)
    std::size_t outputs = 0;  // floats per sample of that buffer (a classifier's classes)
    loss_description loss = {};
    targets_binding targets = {};
    std::size_t input_size = 0;
    std::vector<std::string> notes;  // decisions that are no statement (flatten, softmax into the loss, folds)

    std::vector<kernel> kernels = {};
    std::size_t loss_kernel = 0;
    std::vector<variable_entry> variables = {};
    std::vector<bn_entry> bn_layers = {};
    const layer_description* normalization = nullptr;  // the model's normalization layer (at most one, first)
    bool trains_from_pixels = false;
    bool draws_random_numbers = false;  // training uses the Net's random_state (dropout)
    // Training steps can run over several processes (runtime/parallel/chunk_exchange.hpp): no whole-batch statement
    // of a training step reads or writes rows, so a process needs only its own chunks' rows; what crosses processes
    // is the chunks' partials (chunk_slot, chunk_part, the chunk results) after each parallel phase.
    bool trains_over_processes = false;
    std::string over_processes_refusal = {};  // why not, when it cannot (the generated Net's refusal says it)
    // A training statement takes the step's BN statistics groups (`groups`, runtime/parallel/bn_statistics_groups.hpp:
    // which chunks' statistics normalize which, synchronized or per rank).
    bool uses_statistics_groups = false;

    std::vector<statement> forward_train, train_batch, train_pixel_batch, forward_infer;
    // train_batch and train_pixel_batch as the one function the Net compiles (train_step): their statements in order,
    // each of those that differ marked with the input it runs for. A marked statement runs per chunk, and the merges
    // of each run of marked statements are the same for either input (plan_pixel_batch checks both).
    std::vector<statement> train_step;
    std::vector<statement> evaluate, predict;  // after forward_infer, whole batch: the loss kernel, predictions
    std::vector<std::pair<std::size_t, storage>> bn_inputs;  // forward_infer's return for a stop before BN i

    // Rows (samples) per chunk: the unit of a parallel phase and of the sums merged in chunk order, so it fixes the
    // bits. Light models keep runtime/parallel/chunk_runner.hpp's 64; a model whose sample is heavy (a convolutional
    // one) takes fewer, so that a batch of 32 or 64 still gives every thread chunks.
    std::size_t chunk_rows = 64;
    std::string chunk_reason = {};

    std::vector<storage> arena = {};  // every allocated region, derived from the statements and the variable table
    std::vector<storage> thread_copies = {};
};

struct plan_options {
    // Off only to test the folded paths against the plain ones.
    bool fold_bn_into_dense = true;
    bool fold_bn_into_conv_for_inference = true;
    bool bn_moments_in_conv_epilogue = true;
    bool bn_applied_by_next_layer = true;
};

// The plan points into `layers` (step::layer, bn_entry::layer): they must outlive it.
model_plan make_plan(const std::vector<layer_description>& layers, const loss_description& loss,
                     const plan_options& options = {});
// A model that declares no loss: sparse categorical cross-entropy (default_loss(), as in the DSL).
model_plan make_plan(const std::vector<layer_description>& layers, const plan_options& options = {});

}  // namespace nnfuse::codegen
