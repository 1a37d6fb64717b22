#include "codegen/print_storage.hpp"

#include <set>
#include <string_view>
#include <vector>

#include <fmt/core.h>

namespace nnfuse::codegen {

namespace {

// An arena region's row of Net::arena_regions_ (nnfuse::arena_region, runtime/train/net_tables.hpp), on one line
// when it fits in the generated code's width (120), else a field a line.
std::string region_row(const storage& s) {
    std::vector<std::string> fields = {fmt::format(".pointer = &Net::{}_", s.name)};
    switch (s.size) {
        case extent::rows:
            fields.insert(fields.end(), {".floats = " + size_of(s), ".extent = nnfuse::region_extent::per_row"});
            break;
        case extent::partials:
            fields.insert(fields.end(),
                          {".floats = " + size_of(s), ".extent = nnfuse::region_extent::per_extra_chunk"});
            break;
        case extent::chunk_moments:
            fields.insert(fields.end(),
                          {fmt::format(".floats = nnfuse::kernels::bn_chunk_moments_floats({})", s.floats),
                           ".extent = nnfuse::region_extent::per_chunk"});
            break;
        default:
            fields.push_back(".floats = " + size_of(s));
    }
    std::string line;
    for (const auto& f : fields) line += (line.empty() ? "" : ", ") + f;
    if (line.size() + 7 <= 120) return "    {" + line + "},\n";
    std::string lines;
    for (const auto& f : fields) lines += (lines.empty() ? "    {" : ",\n     ") + f;
    return lines + "},\n";
}

// `constexpr std::array<nnfuse::TYPE<Net>, N> Net::MEMBER = {{ROWS}};` after its comment.
std::string table_definition(std::string_view comment, std::string_view type, std::string_view member,
                             std::size_t count, const std::string& rows) {
    return fmt::format("{}\nconstexpr std::array<nnfuse::{}<Net>, {}> Net::{} = {{{{\n{}}}}};\n", comment, type, count,
                       member, rows);
}

}  // namespace

printed_storage print_storage(const model_plan& plan) {
    printed_storage out;
    std::set<std::string> named;
    for (const auto* list : {&plan.arena, &plan.thread_copies}) {
        for (const storage& s : *list) {
            if (s.size_name.empty() || !named.insert(s.size_name).second) continue;
            out.size_constants += fmt::format("constexpr std::size_t {} = {};\n", s.size_name, s.size_expression);
        }
    }
    std::string regions;
    for (const storage& s : plan.arena) {
        out.members += fmt::format("    float* {}_ = nullptr;  // {}\n", s.name, s.what);
        regions += region_row(s);
    }
    out.tables += table_definition(
        "// The arena's regions in the order the constructor lays them out (nnfuse::lay_out_arena): the member that\n"
        "// points at each and its size in floats.",
        "arena_region", "arena_regions_", plan.arena.size(), regions);
    out.table_declarations += fmt::format(
        "    static const std::array<nnfuse::arena_region<Net>, {}> arena_regions_;\n"
        "    static const std::array<nnfuse::variable_entry<Net>, {}> variable_entries_;\n",
        plan.arena.size(), plan.variables.size());
    for (const storage& s : plan.thread_copies) {
        out.members +=
            fmt::format("    // {}\n    nnfuse::per_thread_copies {}_{{nnfuse::cache_line_floats({}) + {}}};\n", s.what,
                        s.name, size_of(s), s.tail);
    }
    if (plan.draws_random_numbers) out.members += "    nnfuse::random_state random_;  // randomness()\n";
    std::string variables;
    for (const variable_entry& v : plan.variables) {
        if (v.gradient && size_of(*v.gradient) != size_of(v.value)) {
            throw plan_error(fmt::format("internal: the gradient of {} has {} floats, its value {}", v.keras_name,
                                         size_of(*v.gradient), size_of(v.value)));
        }
        variables += fmt::format("    {{.name = \"{}\",\n     .value = &Net::{}_,\n     .size = {}", v.keras_name,
                                 v.value.name, size_of(v.value));
        if (v.gradient) variables += fmt::format(",\n     .grad = &Net::{}_", v.gradient->name);
        variables += fmt::format(",\n     .init = nnfuse::initializer::{}", keras_name(v.init));
        if (v.fan_in != 0 || v.fan_out != 0) {
            variables += fmt::format(",\n     .fan_in = {},\n     .fan_out = {}", v.fan_in, v.fan_out);
        }
        if (v.scalar) variables += ",\n     .scalar = true";
        if (!v.dims.empty()) {
            const std::string name = v.value.name + "_shape";
            std::string dims;
            for (const std::size_t d : v.dims) dims += fmt::format("{}{}", dims.empty() ? "" : ", ", d);
            out.constants += fmt::format("constexpr std::size_t {}[] = {{{}}};\n", name, dims);
            variables += fmt::format(",\n     .dims = {}", name);
        }
        variables += "},\n";
    }
    out.tables += table_definition(
        "// The variables in Keras's order (variables()): each one's Keras name, the members holding its value and\n"
        "// gradient (none: not trainable), its size in floats and its initializer.",
        "variable_entry", "variable_entries_", plan.variables.size(), variables);
    std::string bn_rows;
    for (const bn_entry& bn : plan.bn_layers) {
        const auto& p = *bn.layer->as<batch_norm_parameters>();
        for (const storage* s : {&bn.moving_mean, &bn.moving_variance}) {
            if (size_of(*s) != std::to_string(p.features)) {
                throw plan_error(
                    fmt::format("internal: {} has {} floats for {} features", s->name, size_of(*s), p.features));
            }
        }
        bn_rows += fmt::format(
            "    {{.name = \"{}\",\n"
            "     .features = {},\n"
            "     .rows_per_sample = {},\n"
            "     .profile = nnfuse::bn_profile::{},\n"
            "     .moving_mean = &Net::{}_,\n"
            "     .moving_variance = &Net::{}_}},\n",
            bn.layer->name, p.features, p.rows_per_sample, to_string(p.profile), bn.moving_mean.name,
            bn.moving_variance.name);
        out.constants += fmt::format("constexpr float {}_epsilon = {};\n", bn.layer->name, p.epsilon);
        out.constants += fmt::format("constexpr double {}_momentum = {};  // {} profile\n", bn.layer->name, p.momentum,
                                     to_string(p.profile));
    }
    if (!plan.bn_layers.empty()) {
        out.tables += table_definition(
            "// The batch_norm layers (bn_layers()): each one's name, shape, profile and the members holding its "
            "moving\n"
            "// statistics.",
            "bn_layer_entry", "bn_layer_entries_", plan.bn_layers.size(), bn_rows);
    }
    return out;
}

}  // namespace nnfuse::codegen
