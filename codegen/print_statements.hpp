// nnfuse::codegen printing of the plan's kernels and statements as C++ (the emitter prints, it decides nothing).
//
// A function's statements are printed in order; each run of per-chunk statements (with the tasks among them) is one
// parallel phase (runner_.run over the chunks, a task as an extra work item after them), followed by the merges of
// its reductions in the order the statements list them.
#pragma once

#include <string>
#include <vector>

#include "codegen/plan.hpp"
#include "codegen/text.hpp"

namespace nnfuse::codegen {

class statement_printer {
public:
    statement_printer(const model_plan& plan, template_files& templates) : plan_(plan), templates_(templates) {}

    // A training function's body: parallel phases over chunks, whole-batch statements between them.
    std::string chunked(const std::vector<statement>& statements) const;
    // forward_infer's body: every statement per piece of rows.
    std::string pieces(const std::vector<statement>& statements) const;
    // The per-target wrappers and the dispatch entries of the plan's kernels.
    std::string target_kernels() const;
    std::string dispatch() const;
    // The kernel and runtime headers the statements call.
    std::string kernel_includes() const;
    std::string runtime_includes() const;

    std::string storage_ref(const storage& s) const;

private:
    std::string argument_text(const argument& a, bool per_chunk, const std::optional<storage>& copy) const;
    std::string statement_text(const statement& s) const;
    std::string merges_text(const statement& s) const;

    const model_plan& plan_;
    template_files& templates_;
};

}  // namespace nnfuse::codegen
