#include "codegen/print_statements.hpp"

#include <algorithm>
#include <set>

#include <fmt/core.h>

#include "codegen/print_storage.hpp"

namespace nnfuse::codegen {

namespace {

std::string parameter_list(const kernel_signature& signature) {
    std::string text;
    for (const auto& p : signature.parameters) text += (text.empty() ? "" : ", ") + p.type + " " + p.name;
    return text;
}

std::string argument_names(const kernel_signature& signature) {
    std::string text;
    for (const auto& p : signature.parameters) text += (text.empty() ? "" : ", ") + p.name;
    return text;
}

std::string template_argument_list(const std::vector<template_argument>& arguments) {
    std::string text;
    for (const auto& a : arguments) {
        text += (text.empty() ? "" : ", ") + (a.name.empty() ? "" : "/*" + a.name + "=*/") + a.value;
    }
    return text;
}

std::string times(std::size_t per_row) { return per_row == 1 ? "" : fmt::format(" * {}", per_row); }

}  // namespace

std::string statement_printer::storage_ref(const storage& s) const {
    if (s.size == extent::caller || s.size == extent::thread_copies) return s.name;  // an argument, a local
    return s.name + "_";
}

std::string statement_printer::argument_text(const argument& a, bool per_chunk,
                                             const std::optional<storage>& copy) const {
    const auto ref = [&](const storage& s) {
        return copy && copy->name == s.name ? std::string("copy") : storage_ref(s);
    };
    switch (a.kind) {
        case argument::form::value:
            return a.text;
        case argument::form::whole:
            return ref(*a.target);
        case argument::form::rows:
            return per_chunk ? ref(*a.target) + " + begin" + times(a.per_row) : ref(*a.target);
        case argument::form::chunk_slot:
            return fmt::format("chunk_slot({}, {}, {}, chunk)", ref(*a.target), ref(*a.partials), size_of(*a.target));
        case argument::form::chunk_part:
            return fmt::format("{} + chunk * nnfuse::kernels::bn_chunk_moments_floats({})", ref(*a.target),
                               a.target->floats);
        case argument::form::at:
            return ref(*a.target) + " + " + a.text;
        case argument::form::row_count:
            return (per_chunk ? "count" : "rows") + times(a.per_row);
    }
    return {};
}

std::string statement_printer::statement_text(const statement& s) const {
    const bool per_chunk = s.when == phase::per_chunk;
    std::string text = s.comment.empty() ? "" : "    // " + s.comment + "\n";
    if (const auto* c = std::get_if<call>(&s.action)) {
        std::string arguments;
        for (const auto& a : c->arguments) {
            arguments += (arguments.empty() ? "" : ", ") + argument_text(a, per_chunk, c->into_thread_copy);
        }
        const std::string callee = c->kernel ? plan_.kernels[*c->kernel].name : c->signature->function;
        const std::string line = fmt::format("{}({});", callee, arguments);
        if (s.only_stopping_before_bn) {
            return text + fmt::format("    if (stop_before_bn == {}) {{\n        {}\n        return;\n    }}\n",
                                      *s.only_stopping_before_bn, line);
        }
        if (c->into_thread_copy) {
            return text +
                   templates_.fill("snippets/thread_copy.in", {{"copy", c->into_thread_copy->name}, {"call", line}});
        }
        return text + "    " + line + "\n";
    }
    if (const auto* check = std::get_if<check_statistics_rows>(&s.action)) {
        std::string dims;
        for (std::size_t d : check->sample_dims) dims += fmt::format(", {}", d);
        return text + templates_.fill("snippets/check_statistics_rows.in",
                                      {{"rows", "rows" + times(check->rows_per_sample)}, {"sample_dims", dims}});
    }
    if (const auto* stale = std::get_if<begin_step>(&s.action)) {
        return text + fmt::format("    {}_.begin_step(runner_.threads());\n", stale->copies.name);
    }
    if (std::holds_alternative<reset_chunk_result>(s.action)) return text + "    chunk_results_[chunk] = {};\n";
    const auto& stop = std::get<stop_before_bn>(s.action);
    return text + fmt::format("    if (stop_before_bn == {}) return;\n", stop.bn_index);
}

std::string statement_printer::merges_text(const statement& s) const {
    std::string text;
    for (const reduction& r : s.merges) {
        text += fmt::format("    nnfuse::add_chunk_partials({}, {}, {}, chunks);\n", storage_ref(r.total),
                            storage_ref(r.partials), size_of(r.total));
    }
    return text;
}

std::string statement_printer::exchange_text(const std::vector<const statement*>& phase_statements) const {
    std::string regions;
    std::set<std::string> records;
    bool chunk_results = false;
    for (const statement* s : phase_statements) {
        if (std::holds_alternative<reset_chunk_result>(s->action)) chunk_results = true;
        if (const auto* c = std::get_if<call>(&s->action)) {
            for (const argument& a : c->arguments) {
                if (a.kind != argument::form::chunk_part || !records.insert(a.target->name).second) continue;
                regions += fmt::format(
                    "            nnfuse::chunk_records({}, nnfuse::kernels::bn_chunk_moments_floats({})),\n",
                    storage_ref(*a.target), a.target->floats);
            }
        }
        if (s->input == step_input::pixels) continue;  // its run's merges are the floats' (plan.hpp: train_step)
        for (const reduction& r : s->merges) {
            regions += fmt::format("            nnfuse::chunk_slots({}, {}, {}),\n", storage_ref(r.total),
                                   storage_ref(r.partials), size_of(r.total));
        }
    }
    if (chunk_results) regions += "            nnfuse::chunk_records(chunk_results_.data(), 1),\n";
    return regions.empty() ? "" : templates_.fill("snippets/chunk_exchange.in", {{"regions", regions}});
}

std::string statement_printer::chunked(const std::vector<statement>& statements, chunks which) const {
    const bool share = which == chunks::this_process_share;
    const std::string index = share ? "item" : "chunk", count = share ? "share.count" : "chunks";
    std::string text;
    for (std::size_t i = 0; i < statements.size();) {
        if (statements[i].when == phase::whole_batch) {
            text += statement_text(statements[i]) + merges_text(statements[i]);
            ++i;
            continue;
        }
        std::string body, tasks, merges;
        std::vector<const statement*> phase_statements;
        std::size_t task_count = 0;
        while (i < statements.size() && statements[i].when != phase::whole_batch) {
            const statement& s = statements[i];
            if (s.input != step_input::any) {
                // train_step: a run of statements for one input only (their merges the same for both: the floats')
                std::string pixels, floats;
                for (; i < statements.size() && statements[i].input != step_input::any; ++i) {
                    const statement& one = statements[i];
                    phase_statements.push_back(&one);
                    if (one.input == step_input::pixels) {
                        pixels += indented(statement_text(one), 4);
                    } else {
                        floats += indented(statement_text(one), 4);
                        merges += merges_text(one);
                    }
                }
                body +=
                    indented(templates_.fill("snippets/step_input.in", {{"pixels", pixels}, {"floats", floats}}), 4);
                continue;
            }
            phase_statements.push_back(&s);
            if (s.when == phase::task) {
                tasks += templates_.fill("snippets/phase_task.in",
                                         {{"index", index},
                                          {"item", task_count == 0 ? count : fmt::format("{} + {}", count, task_count)},
                                          {"body", indented(statement_text(s), 8)}});
                ++task_count;
            } else {
                body += indented(statement_text(s), 4);
            }
            merges += merges_text(s);
            ++i;
        }
        text +=
            templates_.fill("snippets/parallel_phase.in",
                            {{"items", count},
                             {"extra_items", task_count == 0 ? "" : fmt::format("{}, ", task_count)},
                             {"index", index},
                             {"tasks", tasks},
                             {"chunk_of_item", share ? "        const std::size_t chunk = share.first + item;\n" : ""},
                             {"body", body}}) +
            (share ? exchange_text(phase_statements) : "") + merges;
    }
    return text;
}

std::string statement_printer::pieces(const std::vector<statement>& statements) const {
    std::string before, body;  // the whole-batch statements (they read variables only) run once before the pieces
    for (const statement& s : statements) {
        if (s.when == phase::whole_batch) {
            before += statement_text(s);
        } else {
            body += indented(statement_text(s), 4);
        }
    }
    return before + templates_.fill("snippets/inference_pieces.in", {{"body", body}});
}

std::string statement_printer::target_kernels() const {
    std::string text;
    for (const auto& k : plan_.kernels) {
        text += templates_.fill(
            "snippets/target_kernel.in",
            {{"layers", k.layers},
             {"shapes", k.shapes},
             {"name", k.name},
             {"locals", k.locals},
             {"parameters", parameter_list(*k.signature)},
             {"building_block", k.signature->function + "<" + template_argument_list(k.template_arguments) + ">"},
             {"arguments", argument_names(*k.signature)}});
    }
    return text;
}

std::string statement_printer::dispatch() const {
    std::string text;
    for (const auto& k : plan_.kernels) {
        text += templates_.fill("snippets/dispatch.in", {{"name", k.name},
                                                         {"parameters", parameter_list(*k.signature)},
                                                         {"arguments", argument_names(*k.signature)}});
    }
    return text;
}

std::string statement_printer::kernel_declarations() const {
    std::string text;
    for (const auto& k : plan_.kernels) {
        text += templates_.fill("snippets/kernel_declaration.in",
                                {{"name", k.name}, {"parameters", parameter_list(*k.signature)}});
    }
    return text;
}

std::string statement_printer::helpers() const {
    for (const auto* f : {&plan_.train_batch, &plan_.train_pixel_batch, &plan_.forward_train}) {
        for (const statement& s : *f) {
            if (std::holds_alternative<check_statistics_rows>(s.action))
                return templates_.text("snippets/too_few_statistics_rows.in");
        }
    }
    return "";
}

std::string statement_printer::kernel_includes() const {
    std::set<std::string> headers;
    for (const auto& k : plan_.kernels) headers.insert(k.signature->header);
    std::string text;
    for (const auto& h : headers) text += fmt::format("#include \"{}\"\n", h);
    return text;
}

std::string statement_printer::runtime_includes() const {
    std::set<std::string> headers;
    for (const auto* f :
         {&plan_.train_batch, &plan_.train_pixel_batch, &plan_.forward_infer, &plan_.evaluate, &plan_.predict}) {
        for (const statement& s : *f) {
            const auto* c = std::get_if<call>(&s.action);
            // pixel_rows.hpp comes with the Net's header; a standard function ("") with the source's
            if (c != nullptr && !c->signature->per_target && c->signature->header != "runtime/data/pixel_rows.hpp" &&
                !c->signature->header.empty()) {
                headers.insert(c->signature->header);
            }
            // A chunk's part of a BN's per-chunk moments is sized by bn_chunk_moments_floats().
            if (c != nullptr && std::any_of(c->arguments.begin(), c->arguments.end(),
                                            [](const argument& a) { return a.kind == argument::form::chunk_part; })) {
                headers.insert("runtime/kernels/bn_chunked.hpp");
            }
        }
    }
    std::string text;
    for (const auto& h : headers) text += fmt::format("#include \"{}\"\n", h);
    return text;
}

}  // namespace nnfuse::codegen
