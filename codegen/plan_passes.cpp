#include "codegen/plan_passes.hpp"

#include <algorithm>

#include "codegen/layers/plan_builder.hpp"

namespace nnfuse::codegen {

argument value(std::string text) { return {.kind = argument::form::value, .text = std::move(text)}; }
argument whole(const storage& s) { return {.kind = argument::form::whole, .target = s}; }
argument rows_of(const storage& s, std::size_t per_row) {
    return {.kind = argument::form::rows, .target = s, .per_row = per_row};
}
argument chunk_slot(const storage& total, const storage& partials) {
    return {.kind = argument::form::chunk_slot, .target = total, .partials = partials, .per_row = total.floats};
}
argument chunk_part(const storage& s) { return {.kind = argument::form::chunk_part, .target = s}; }
argument at(const storage& s, std::string offset) {
    return {.kind = argument::form::at, .text = std::move(offset), .target = s};
}
argument row_count(std::size_t per_row) { return {.kind = argument::form::row_count, .per_row = per_row}; }

namespace {

void add_unique(std::vector<storage>& list, const storage& s) {
    if (std::none_of(list.begin(), list.end(), [&](const storage& t) { return t.name == s.name; })) list.push_back(s);
}

// Every storage a statement names: its arguments' (through a const pointer: `reading`; otherwise written), the
// copies it makes stale or fills.
template <class Body>
void for_each_named(const statement& s, Body body) {
    if (const auto* c = std::get_if<call>(&s.action)) {
        for (std::size_t i = 0; i < c->arguments.size(); ++i) {
            const argument& a = c->arguments[i];
            const kernel_parameter& parameter = c->signature->parameters[i];
            if (a.target) body(*a.target, parameter.reads());
            if (a.partials) body(*a.partials, false);
        }
        if (c->into_thread_copy) body(*c->into_thread_copy, false);
    } else if (const auto* stale = std::get_if<begin_step>(&s.action)) {
        body(stale->copies, false);
    }
    for (const reduction& r : s.merges) {
        body(r.total, false);
        body(r.partials, true);
    }
}

}  // namespace

std::vector<storage> statement::inputs() const {
    std::vector<storage> found;
    for_each_named(*this, [&](const storage& s, bool reading) {
        if (reading) add_unique(found, s);
    });
    return found;
}

std::vector<storage> statement::outputs() const {
    std::vector<storage> found;
    for_each_named(*this, [&](const storage& s, bool reading) {
        if (!reading) add_unique(found, s);
    });
    return found;
}

bool statement::reads(const std::string& storage_name) const {
    bool found = false;
    for_each_named(*this,
                   [&](const storage& s, bool reading) { found = found || (reading && s.name == storage_name); });
    return found;
}

namespace {

statement for_input(statement s, step_input input) {
    s.input = input;
    s.pixel_variant.clear();
    return s;
}

// train_step's runs of marked statements run per chunk (inside a parallel phase of both inputs) and merge the same
// reductions in the same order for either input, so that train_batch and train_pixel_batch have the same phases and
// the printer merges a run's reductions once.
void check_train_step(const std::vector<statement>& statements) {
    for (std::size_t i = 0; i < statements.size();) {
        if (statements[i].input == step_input::any) {
            ++i;
            continue;
        }
        std::vector<reduction> merges[2];
        for (; i < statements.size() && statements[i].input != step_input::any; ++i) {
            const statement& s = statements[i];
            if (s.when != phase::per_chunk) {
                throw plan_error("internal: " + s.id + " runs for one input of the training step only, not per chunk");
            }
            auto& side = merges[s.input == step_input::pixels ? 1 : 0];
            side.insert(side.end(), s.merges.begin(), s.merges.end());
        }
        if (merges[0] != merges[1]) {
            throw plan_error("internal: the float and pixel forms of " + statements[i - 1].id +
                             " merge different reductions");
        }
    }
}

}  // namespace

// train_pixel_batch: train_batch's statements with their pixel variants when every read of x has one; otherwise the
// batch widened to floats chunk by chunk, and train_batch's statements reading that instead of x. train_step: both
// in one list, a statement that differs marked with its input.
void plan_pixel_batch(model_plan& plan) {
    plan.trains_from_pixels = std::all_of(plan.train_batch.begin(), plan.train_batch.end(),
                                          [](const statement& s) { return !s.pixel_variant.empty() || !s.reads("x"); });
    if (plan.trains_from_pixels) {
        for (const statement& s : plan.train_batch) {
            const auto& replacement = s.pixel_variant.empty() ? std::vector<statement>{s} : s.pixel_variant;
            plan.train_pixel_batch.insert(plan.train_pixel_batch.end(), replacement.begin(), replacement.end());
            if (s.pixel_variant.empty()) {
                plan.train_step.push_back(for_input(s, step_input::any));
                continue;
            }
            plan.train_step.push_back(for_input(s, step_input::floats));
            for (const statement& v : s.pixel_variant) plan.train_step.push_back(for_input(v, step_input::pixels));
        }
        check_train_step(plan.train_step);
        return;
    }
    const storage widened{"widened_input", extent::rows, plan.input_size,
                          "train_pixel_batch's pixels as floats, the input of train_batch's statements"};
    plan.train_pixel_batch.push_back(
        {.id = "input.widen",
         .when = phase::per_chunk,
         .comment = "Nothing here reads uint8 pixels: the batch is widened to floats on the training threads.",
         .action = plan_builder::function_call(
             signatures::gather_pixel_rows,
             {value("batch->pixels.data()"), value("batch->row_size"), value("batch->samples.subspan(begin, count)"),
              value("batch->scale"), rows_of(widened, plan.input_size)})});
    plan.train_pixel_batch.push_back(
        {.id = "input.prefetch",
         .when = phase::per_chunk,
         .action = plan_builder::function_call(signatures::prefetch_next_chunk,
                                               {value("*batch"), value("begin"), row_count()})});
    for (const statement& s : plan.train_pixel_batch) plan.train_step.push_back(for_input(s, step_input::pixels));
    for (const statement& original : plan.train_batch) {
        statement s = original;
        bool reads_x = false;
        if (auto* c = std::get_if<call>(&s.action)) {
            for (argument& a : c->arguments) {
                if (a.target && a.target->name == "x") {
                    a.target = widened;
                    reads_x = true;
                }
            }
        }
        s.pixel_variant.clear();
        if (reads_x) {
            plan.train_step.push_back(for_input(original, step_input::floats));
            plan.train_step.push_back(for_input(s, step_input::pixels));
        } else {
            plan.train_step.push_back(for_input(s, step_input::any));
        }
        plan.train_pixel_batch.push_back(std::move(s));
    }
    check_train_step(plan.train_step);
}

// Only the kernels that a statement calls (a pixel variant that is not taken calls none).
void keep_called_kernels(model_plan& plan) {
    std::vector<std::vector<statement>*> functions = {&plan.forward_train, &plan.train_batch,   &plan.train_pixel_batch,
                                                      &plan.train_step,    &plan.forward_infer, &plan.evaluate,
                                                      &plan.predict};
    std::vector<bool> called(plan.kernels.size(), false);
    called[plan.loss_kernel] = true;
    for (auto* f : functions) {
        for (const statement& s : *f) {
            if (const auto* c = std::get_if<call>(&s.action); c != nullptr && c->kernel) called[*c->kernel] = true;
        }
    }
    std::vector<std::size_t> renumbered(plan.kernels.size());
    std::vector<kernel> kept;
    for (std::size_t k = 0; k < plan.kernels.size(); ++k) {
        renumbered[k] = kept.size();
        if (called[k]) kept.push_back(std::move(plan.kernels[k]));
    }
    plan.kernels = std::move(kept);
    plan.loss_kernel = renumbered[plan.loss_kernel];
    for (auto* f : functions) {
        for (statement& s : *f) {
            if (auto* c = std::get_if<call>(&s.action); c != nullptr && c->kernel) c->kernel = renumbered[*c->kernel];
            s.pixel_variant.clear();  // taken or not, decided above
        }
    }
}

// The arena: the variables and their gradients (the runtime reaches them through the variable table), then every
// region a statement names, in the order of first use; a region named with two sizes gets the larger.
void derive_storage(model_plan& plan) {
    for (const auto& v : plan.variables) {
        add_unique(plan.arena, v.value);
        if (v.gradient) add_unique(plan.arena, *v.gradient);
    }
    for (const auto* f : {&plan.train_batch, &plan.train_pixel_batch, &plan.forward_infer, &plan.forward_train}) {
        for (const statement& s : *f) {
            for_each_named(s, [&](const storage& named, bool) {
                if (named.size == extent::caller) return;
                auto& list = named.size == extent::thread_copies ? plan.thread_copies : plan.arena;
                const auto found =
                    std::find_if(list.begin(), list.end(), [&](const storage& t) { return t.name == named.name; });
                if (found == list.end()) {
                    list.push_back(named);
                } else {
                    found->floats = std::max(found->floats, named.floats);
                }
            });
        }
    }
}

// No whole-batch statement touches rows of a batch-sized storage (or the input x): each row is read and written by
// the statements of its own chunk only.
const statement* first_whole_batch_row_reader(const std::vector<statement>& statements) {
    for (const statement& s : statements) {
        if (s.when != phase::whole_batch) continue;
        const auto* c = std::get_if<call>(&s.action);
        if (c == nullptr) continue;
        for (const argument& a : c->arguments) {
            if (a.kind == argument::form::rows) return &s;
            const bool rows_storage = a.target && (a.target->size == extent::rows || a.target->name == "x");
            if (rows_storage && (a.kind == argument::form::whole || a.kind == argument::form::at)) return &s;
        }
    }
    return nullptr;
}

bool only_chunks_read_rows(const std::vector<statement>& statements) {
    return first_whole_batch_row_reader(statements) == nullptr;
}

std::string over_processes_refusal(const model_plan& plan) {
    for (const auto* statements : {&plan.train_batch, &plan.train_pixel_batch}) {
        if (const statement* s = first_whole_batch_row_reader(*statements)) {
            return "its training step's statement " + s->id +
                   " reads the rows of the whole batch in one place, so this model cannot train over several "
                   "processes";
        }
    }
    return "";
}

}  // namespace nnfuse::codegen
