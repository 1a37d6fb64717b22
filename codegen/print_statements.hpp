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

    // Which chunks a function's parallel phases compute: all, or (a training step of a plan that trains over
    // processes) this process's share, exchanging the phase's per-chunk partials afterwards when an exchange is set.
    enum class chunks { all, this_process_share };
    // A training function's body: parallel phases over chunks, whole-batch statements between them.
    std::string chunked(const std::vector<statement>& statements, chunks which = chunks::all) const;
    // forward_infer's body: every statement per piece of rows.
    std::string pieces(const std::vector<statement>& statements) const;
    // The per-target wrappers and the dispatch functions of the plan's kernels (<model>.kernels.gen.cpp), and the
    // dispatch functions' declarations (the Net's <model>.gen.cpp).
    std::string target_kernels() const;
    std::string dispatch() const;
    std::string kernel_declarations() const;
    // The Net's own helper functions its statements call (today: the batch_norm layers' row check's error), if any.
    std::string helpers() const;
    // The kernel and runtime headers the statements call.
    std::string kernel_includes() const;
    std::string runtime_includes() const;

    std::string storage_ref(const storage& s) const;

private:
    std::string argument_text(const argument& a, bool per_chunk, const std::optional<storage>& copy) const;
    std::string statement_text(const statement& s) const;
    std::string merges_text(const statement& s) const;
    // The exchange after a parallel phase of `phase_statements`: their chunk records, reductions and chunk results.
    std::string exchange_text(const std::vector<const statement*>& phase_statements) const;

    const model_plan& plan_;
    template_files& templates_;
};

}  // namespace nnfuse::codegen
