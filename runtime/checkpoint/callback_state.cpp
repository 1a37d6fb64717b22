// fit's callbacks in training checkpoints (see callback_state.hpp).
#include "runtime/checkpoint/callback_state.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "runtime/checkpoint/checkpoint_error.hpp"

namespace nnfuse {

using namespace checkpoint_fields;

namespace {

const std::string best_weights_prefix = std::string(callback_tensors_prefix) + "early_stopping/best_weights/";
const std::string learning_rate_key = "optimizer/learning_rate";

// Early stopping's best weights as tensors shaped like the network's variables, viewing `weights`.
void add_best_weight_tensors(network& net, std::vector<std::vector<float>>& weights,
                             std::vector<expected_tensor>& tensors) {
    const auto variables = net.variables();
    for (std::size_t i = 0; i < variables.size(); ++i) {
        tensors.push_back({best_weights_prefix + std::string(variables[i].name), "F32", variable_shape(variables[i]),
                           std::as_writable_bytes(std::span(weights[i]))});
    }
}

void require_monitor(const safetensors_file& file, const std::string& key, const std::string& monitor) {
    const std::string& saved = metadata_text(file, key);
    if (saved != monitor) {
        throw checkpoint_error(fmt::format("{}: was saved with {} \"{}\", but this run monitors \"{}\"", file.source(),
                                           key, saved, monitor));
    }
}

// The callback continues from the loaded state, or begins afresh without one.
template <class Callback, class State>
void restore_or_begin(Callback* callback, std::optional<State>& state) {
    if (callback == nullptr) return;
    if (state) {
        callback->state() = std::move(*state);
    } else {
        callback->begin();
    }
}

}  // namespace

void add_callback_state(const callback_set& callbacks, network& net, const optimizer& opt,
                        std::map<std::string, std::string>& metadata, std::vector<expected_tensor>& tensors) {
    metadata[learning_rate_key] = exact_text(opt.learning_rate());
    if (early_stopping* stopper = callbacks.early_stop) {
        early_stopping_state& state = stopper->state();
        const bool saved = !state.best_weights.empty();
        metadata.insert({{"early_stopping/monitor", stopper->options().monitor},
                         {"early_stopping/wait", std::to_string(state.wait)},
                         {"early_stopping/best", exact_text(state.best)},
                         {"early_stopping/best_epoch", std::to_string(state.best_epoch)},
                         {"early_stopping/stopped_epoch", std::to_string(state.stopped_epoch)},
                         {"early_stopping/best_weights", saved ? "saved" : "none"}});
        if (saved && state.best_weights.size() != net.variables().size()) {
            throw std::invalid_argument(
                "save_training_checkpoint: early_stopping's best weights are of another network");
        }
        if (saved) add_best_weight_tensors(net, state.best_weights, tensors);
    }
    if (reduce_lr_on_plateau* reducer = callbacks.reduce_lr) {
        const reduce_lr_on_plateau_state& state = reducer->state();
        metadata.insert({{"reduce_lr_on_plateau/monitor", reducer->options().monitor},
                         {"reduce_lr_on_plateau/wait", std::to_string(state.wait)},
                         {"reduce_lr_on_plateau/best", exact_text(state.best)},
                         {"reduce_lr_on_plateau/cooldown_counter", std::to_string(state.cooldown_counter)}});
    }
}

loaded_callback_state read_callback_state(const safetensors_file& file, const callback_set& callbacks, network& net,
                                          std::vector<expected_tensor>& tensors) {
    loaded_callback_state loaded;
    const auto has = [&](const std::string& key) { return file.metadata().contains(key); };
    if (callbacks.early_stop != nullptr && has("early_stopping/monitor")) {
        require_monitor(file, "early_stopping/monitor", callbacks.early_stop->options().monitor);
        early_stopping_state& state = loaded.early_stop.emplace();
        state.wait = metadata_number(file, "early_stopping/wait");
        state.best = metadata_double(file, "early_stopping/best");
        state.best_epoch = metadata_number(file, "early_stopping/best_epoch");
        state.stopped_epoch = metadata_number(file, "early_stopping/stopped_epoch");
        const std::string& best_weights = metadata_text(file, "early_stopping/best_weights");
        if (best_weights != "saved" && best_weights != "none") {
            throw checkpoint_error(
                fmt::format("{}: __metadata__ \"early_stopping/best_weights\" is \"{}\", not saved or none",
                            file.source(), best_weights));
        }
        if (best_weights == "saved") {
            for (const variable_ref& v : net.variables()) state.best_weights.emplace_back(v.value.size());
            add_best_weight_tensors(net, state.best_weights, tensors);
        }
    }
    if (callbacks.reduce_lr != nullptr && has("reduce_lr_on_plateau/monitor")) {
        require_monitor(file, "reduce_lr_on_plateau/monitor", callbacks.reduce_lr->options().monitor);
        reduce_lr_on_plateau_state& state = loaded.reduce_lr.emplace();
        state.wait = metadata_number(file, "reduce_lr_on_plateau/wait");
        state.best = metadata_double(file, "reduce_lr_on_plateau/best");
        state.cooldown_counter = metadata_number(file, "reduce_lr_on_plateau/cooldown_counter");
    }
    if (callbacks.reduce_lr != nullptr && has(learning_rate_key)) {
        const auto rate = static_cast<float>(metadata_double(file, learning_rate_key));
        if (!(std::isfinite(rate) && rate >= 0.0f)) {
            throw checkpoint_error(fmt::format("{}: __metadata__ \"{}\" is {}, not a learning rate", file.source(),
                                               learning_rate_key, rate));
        }
        loaded.learning_rate = rate;
    }
    return loaded;
}

void apply_callback_state(loaded_callback_state& loaded, const callback_set& callbacks, optimizer& opt) {
    restore_or_begin(callbacks.early_stop, loaded.early_stop);
    restore_or_begin(callbacks.reduce_lr, loaded.reduce_lr);
    if (loaded.learning_rate) opt.set_learning_rate(*loaded.learning_rate);
}

}  // namespace nnfuse
