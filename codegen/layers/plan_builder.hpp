// nnfuse::codegen::plan_builder: what a layer module adds its statements, kernels and storage through.
//
// The builder owns the plan being made. Storage is named through it (buffer(), gradient(), variable(), ...) and
// exists only if a statement's argument names it (make_plan collects it from the statements). Backward statements
// are added per step, as a block that runs before the blocks of the steps planned earlier (backward runs the steps
// in reverse).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "codegen/plan.hpp"

namespace nnfuse::codegen {

class plan_builder {
public:
    explicit plan_builder(model_plan& plan) : plan_(plan) {}

    model_plan& plan() { return plan_; }
    const step& step_at(std::size_t index) const { return plan_.steps.at(index); }

    // A kernel, once per name (a second user adds its layers to the manifest's entry); returns its index.
    std::size_t add_kernel(kernel k);
    // A statement calling kernel `k` (or runtime function `function`) with one argument per parameter.
    call kernel_call(std::size_t k, std::vector<argument> arguments) const;
    static call function_call(const kernel_signature& function, std::vector<argument> arguments);

    // A buffer's activations; in inference, an aliased buffer's (infer_alias) is the storage it aliases.
    storage buffer(std::size_t index) const { return plan_.buffers.at(resolve(index)).activations; }
    storage gradient(std::size_t index) const { return plan_.buffers.at(index).gradient; }
    // The variable `leaf` ("kernel", "gamma", ...) of `layer`, and its gradient.
    static storage variable(const layer_description& layer, const std::string& leaf);
    static storage variable_gradient(const layer_description& layer, const std::string& leaf);
    // A variable's storage ("batch_normalization/gamma:0" -> batch_normalization_gamma), a value's gradient.
    static storage variable_storage(const variable_description& variable);
    static storage gradient_of(const storage& value);
    static storage region(std::string name, extent size, std::size_t floats, std::string what);
    static storage partials_of(const storage& total);

    void forward(statement s) { forward_.push_back(std::move(s)); }
    // Inserts `s` right after the forward statement `id` (a rewrite of an earlier step's statements).
    void forward_after(const std::string& id, statement s);
    // Adds `s`, a once-a-step preparation that reads only variables (they change only in the optimizer's update), whose
    // result the caller's next forward statement reads, ahead of every other forward statement (after the ones added
    // so before it), with its phase set: a task of the step's first parallel phase where a whole-batch statement
    // already ends that phase before the caller's statement, else a whole-batch statement. Either way it splits no
    // phase.
    void forward_prologue(statement s);
    void backward(std::vector<statement> block) {
        backward_.insert(backward_.begin(), block.begin(), block.end());
        owners_.insert(owners_.begin(), block.size(), planning_);
    }
    // make_plan names the step whose statements follow (backward statements remember it).
    void planning(std::size_t step_index) { planning_ = step_index; }
    // Inserts `s` where backward passes from the steps after step `step_index` to that step and the ones before it:
    // after every backward statement of a later step planned so far (a residual input's gradient summed once each
    // step reading it formed its share, before the step that wrote it reads it).
    void backward_before_step(std::size_t step_index, statement s);
    void infer(statement s) { infer_.push_back(std::move(s)); }
    // In inference, buffer `output` is buffer `input` (a layer that is the identity there writes nothing): every
    // later buffer() of `output` names `input`'s storage. make_plan plans every step's training before any step's
    // inference, so an alias never reaches a training statement.
    void infer_alias(std::size_t output, std::size_t input) { aliases_[output] = resolve(input); }
    // A statement that runs once after every backward statement, whichever step adds it first (same id: once).
    void after_backward(statement s);

    const std::vector<statement>& forward_statements() const { return forward_; }
    const std::vector<statement>& backward_statements() const { return backward_; }
    const std::vector<statement>& infer_statements() const { return infer_; }

private:
    std::size_t resolve(std::size_t index) const {
        const auto found = aliases_.find(index);
        return found == aliases_.end() ? index : found->second;
    }

    model_plan& plan_;
    std::vector<statement> forward_, backward_, infer_;
    std::ptrdiff_t prologue_statements_ = 0;  // forward_prologue's, at the front of forward_
    std::vector<std::size_t> owners_;         // the step that planned each backward statement (no_step: after_backward)
    static constexpr std::size_t no_step = static_cast<std::size_t>(-1);
    std::size_t planning_ = no_step;
    std::map<std::size_t, std::size_t> aliases_;
};

// "dense_fwd_f32_k784_n20" + "_elu" for a non-linear activation
std::string activation_suffix(activation_kind kind);
std::string activation_enum(activation_kind kind);
std::string cpp_bool(bool value);
// "batch_normalization + activation": the layers a step computes
std::string covers_of(const step& s);

}  // namespace nnfuse::codegen
