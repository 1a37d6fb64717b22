#include "codegen/print_storage.hpp"

#include <set>

#include <fmt/core.h>

namespace nnfuse::codegen {

namespace {

std::string floats_of(const storage& s) {
    switch (s.size) {
        case extent::rows:
            return fmt::format("max_batch * {}", size_of(s));
        case extent::partials:
            return fmt::format("extra_chunks * {}", size_of(s));
        case extent::chunk_moments:
            return fmt::format("chunk_count(max_batch) * nnfuse::kernels::bn_chunk_moments_floats({})", s.floats);
        default:
            return size_of(s);
    }
}

std::string span_of(const storage& s) { return fmt::format("{{{}_, {}}}", s.name, size_of(s)); }

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
    for (const storage& s : plan.arena) {
        out.members += fmt::format("    float* {}_ = nullptr;  // {}\n", s.name, s.what);
        out.arena_offsets += fmt::format("    const std::size_t at_{} = take({});\n", s.name, floats_of(s));
        out.arena_pointers += fmt::format("    {0}_ = base + at_{0};\n", s.name);
    }
    for (const storage& s : plan.thread_copies) {
        out.members +=
            fmt::format("    // {}\n    nnfuse::per_thread_copies {}_{{nnfuse::cache_line_floats({}) + {}}};\n", s.what,
                        s.name, size_of(s), s.tail);
    }
    if (plan.draws_random_numbers) out.members += "    nnfuse::random_state random_;  // randomness()\n";
    for (std::size_t i = 0; i < plan.variables.size(); ++i) {
        const variable_entry& v = plan.variables[i];
        out.variable_table += fmt::format(
            "    variables_[{}] = {{.name = \"{}\",\n"
            "                     .value = {},\n"
            "                     .grad = {},\n"
            "                     .trainable = {},\n"
            "                     .init = {}",
            i, v.keras_name, span_of(v.value), v.gradient ? span_of(*v.gradient) : "{}", v.gradient ? "true" : "false",
            fmt::format("nnfuse::initializer::{}", keras_name(v.init)));
        if (v.fan_in != 0 || v.fan_out != 0) {
            out.variable_table += fmt::format(
                ",\n                     .fan_in = {},\n                     .fan_out = {}", v.fan_in, v.fan_out);
        }
        if (v.scalar) out.variable_table += ",\n                     .scalar = true";
        if (!v.dims.empty()) {
            const std::string name = v.value.name + "_shape";
            std::string dims;
            for (const std::size_t d : v.dims) dims += fmt::format("{}{}", dims.empty() ? "" : ", ", d);
            out.constants += fmt::format("constexpr std::size_t {}[] = {{{}}};\n", name, dims);
            out.variable_table += fmt::format(",\n                     .dims = {}", name);
        }
        out.variable_table += "};\n";
    }
    for (std::size_t i = 0; i < plan.bn_layers.size(); ++i) {
        const bn_entry& bn = plan.bn_layers[i];
        const auto& p = *bn.layer->as<batch_norm_parameters>();
        out.bn_table += fmt::format(
            "    bn_layers_[{0}] = {{.name = \"{1}\",\n"
            "                      .features = {2},\n"
            "                      .rows_per_sample = {3},\n"
            "                      .profile = nnfuse::bn_profile::{4},\n"
            "                      .moving_mean = {5},\n"
            "                      .moving_variance = {6},\n"
            "                      .batches_seen = &bn_batches_seen_[{0}]}};\n",
            i, bn.layer->name, p.features, p.rows_per_sample, to_string(p.profile), span_of(bn.moving_mean),
            span_of(bn.moving_variance));
        out.constants += fmt::format("constexpr float {}_epsilon = {};\n", bn.layer->name, p.epsilon);
        out.constants += fmt::format("constexpr double {}_momentum = {};  // {} profile\n", bn.layer->name, p.momentum,
                                     to_string(p.profile));
    }
    return out;
}

}  // namespace nnfuse::codegen
