#include "runtime/optim/slot_table.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <utility>

namespace nnfuse {

slot_table::slot_table(std::string_view owner, std::vector<std::string> slot_names)
    : owner_(owner), slot_names_(std::move(slot_names)) {}

void slot_table::bind(std::span<const parameter_ref> params) {
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (params[i].value.size() != params[i].grad.size()) {
            throw std::invalid_argument(fmt::format("{}: parameter {} '{}' has {} values but {} gradients", owner_, i,
                                                    params[i].name, params[i].value.size(), params[i].grad.size()));
        }
    }
    if (!bound_) {
        for (const parameter_ref& p : params) {
            param_names_.emplace_back(p.name);
            param_sizes_.push_back(p.value.size());
            for (std::size_t kind = 0; kind < slot_names_.size(); ++kind) buffers_.emplace_back(p.value.size(), 0.0f);
        }
        bound_ = true;
        return;
    }
    // State is positional: a list that changed shape would silently apply one parameter's momentum to another.
    if (params.size() != param_sizes_.size()) {
        throw std::invalid_argument(fmt::format("{}: state was built for {} parameters, this step has {}", owner_,
                                                param_sizes_.size(), params.size()));
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (params[i].name != param_names_[i] || params[i].value.size() != param_sizes_[i]) {
            throw std::invalid_argument(
                fmt::format("{}: parameter {} is '{}' with {} values, but the state was built for '{}' with {} values",
                            owner_, i, params[i].name, params[i].value.size(), param_names_[i], param_sizes_[i]));
        }
    }
}

std::vector<optimizer_slot> slot_table::state() {
    std::vector<optimizer_slot> slots;
    slots.reserve(buffers_.size());
    for (std::size_t i = 0; i < param_names_.size(); ++i) {
        for (std::size_t kind = 0; kind < slot_names_.size(); ++kind) {
            slots.push_back({fmt::format("{}/{}", param_names_[i], slot_names_[kind]), slot(i, kind)});
        }
    }
    return slots;
}

}  // namespace nnfuse
