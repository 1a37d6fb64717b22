#include "codegen/layers/plan_builder.hpp"

#include <algorithm>

#include <fmt/core.h>

namespace nnfuse::codegen {

std::size_t plan_builder::add_kernel(kernel k) {
    for (std::size_t i = 0; i < plan_.kernels.size(); ++i) {
        if (plan_.kernels[i].name == k.name) {
            const std::string listed = ", " + plan_.kernels[i].layers + ", ";
            if (listed.find(", " + k.layers + ", ") == std::string::npos) plan_.kernels[i].layers += ", " + k.layers;
            return i;
        }
    }
    plan_.kernels.push_back(std::move(k));
    return plan_.kernels.size() - 1;
}

call plan_builder::kernel_call(std::size_t k, std::vector<argument> arguments) const {
    const kernel& callee = plan_.kernels.at(k);
    if (arguments.size() != callee.signature->parameters.size()) {
        throw plan_error(fmt::format("internal: {} takes {} arguments, given {}", callee.name,
                                     callee.signature->parameters.size(), arguments.size()));
    }
    return call{.kernel = k, .signature = callee.signature, .arguments = std::move(arguments)};
}

call plan_builder::function_call(const kernel_signature& function, std::vector<argument> arguments) {
    if (arguments.size() != function.parameters.size()) {
        throw plan_error(fmt::format("internal: {} takes {} arguments, given {}", function.function,
                                     function.parameters.size(), arguments.size()));
    }
    return call{.signature = &function, .arguments = std::move(arguments)};
}

storage plan_builder::variable(const layer_description& layer, const std::string& leaf) {
    const std::string keras = layer.name + "/" + leaf + ":0";
    const auto found = std::find_if(layer.variables.begin(), layer.variables.end(),
                                    [&](const variable_description& v) { return v.name == keras; });
    if (found == layer.variables.end())
        throw plan_error(fmt::format("internal: layer {} has no {}", layer.name, keras));
    return variable_storage(*found);
}

storage plan_builder::variable_storage(const variable_description& variable) {
    std::string id = variable.name.substr(0, variable.name.find(':'));
    std::replace(id.begin(), id.end(), '/', '_');
    storage s{id, extent::fixed, 1, variable.name};
    for (std::size_t d : variable.dims) {
        s.floats *= d;
        s.size_expression += (s.size_expression.empty() ? "" : " * ") + std::to_string(d);
    }
    if (variable.dims.size() > 1) {
        s.size_name = id + "_size";
    } else {
        s.size_expression.clear();
    }
    return s;
}

storage plan_builder::gradient_of(const storage& value) {
    storage s = value;
    s.name = "grad_" + value.name;
    s.what = "gradient of " + value.what;
    return s;
}

storage plan_builder::variable_gradient(const layer_description& layer, const std::string& leaf) {
    return gradient_of(variable(layer, leaf));
}

storage plan_builder::region(std::string name, extent size, std::size_t floats, std::string what) {
    return storage{std::move(name), size, floats, std::move(what)};
}

storage plan_builder::partials_of(const storage& total) {
    storage s = total;
    s.name = "partial_" + total.name;
    s.size = extent::partials;
    s.what = "per-chunk partial sums of " + total.name + ", chunks 1, 2, ...";
    return s;
}

void plan_builder::forward_after(const std::string& id, statement s) {
    const auto found = std::find_if(forward_.begin(), forward_.end(), [&](const statement& t) { return t.id == id; });
    if (found == forward_.end()) throw plan_error("internal: no forward statement " + id);
    forward_.insert(found + 1, std::move(s));
}

void plan_builder::forward_prologue(statement s) {
    const bool first_phase_ends_before = std::any_of(forward_.begin() + prologue_statements_, forward_.end(),
                                                     [](const statement& t) { return t.when == phase::whole_batch; });
    s.when = first_phase_ends_before ? phase::task : phase::whole_batch;
    forward_.insert(forward_.begin() + prologue_statements_++, std::move(s));
}

void plan_builder::backward_before_step(std::size_t step_index, statement s) {
    // Later steps' statements come first; after_backward's (no_step) last.
    const auto at = std::find_if(owners_.begin(), owners_.end(),
                                 [&](std::size_t owner) { return owner == no_step || owner <= step_index; });
    const auto offset = at - owners_.begin();
    backward_.insert(backward_.begin() + offset, std::move(s));
    owners_.insert(owners_.begin() + offset, planning_);
}

void plan_builder::after_backward(statement s) {
    // backward() puts each block before the earlier ones: what is appended here stays last.
    if (std::none_of(backward_.begin(), backward_.end(), [&](const statement& t) { return t.id == s.id; })) {
        backward_.push_back(std::move(s));
        owners_.push_back(no_step);
    }
}

std::string activation_suffix(activation_kind kind) {
    return kind == activation_kind::linear ? "" : fmt::format("_{}", keras_name(kind));
}
std::string activation_enum(activation_kind kind) { return fmt::format("activation_kind::{}", keras_name(kind)); }
std::string cpp_bool(bool value) { return value ? "true" : "false"; }
std::string covers_of(const step& s) {
    std::string text;
    for (const auto& name : s.covers) text += (text.empty() ? "" : " + ") + name;
    return text;
}

}  // namespace nnfuse::codegen
