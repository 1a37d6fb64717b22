// Network checkpoints (see checkpoint.hpp): the list of tensors a network (and its optimizer) expects,
// matched against a file as a whole before anything is copied.
#include "runtime/checkpoint/checkpoint.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "runtime/checkpoint/atomic_file.hpp"
#include "runtime/checkpoint/callback_state.hpp"
#include "runtime/checkpoint/checkpoint_error.hpp"
#include "runtime/checkpoint/checkpoint_fields.hpp"
#include "runtime/checkpoint/nnfuse_version.hpp"
#include "runtime/checkpoint/safetensors.hpp"
#include "runtime/train/batch_norm_statistics.hpp"

namespace nnfuse {

using namespace checkpoint_fields;

namespace {

constexpr std::string_view schema = "nnfuse.checkpoint/1";
constexpr std::string_view optimizer_prefix = "optimizer/";
constexpr std::string_view training_prefix = "training/";
const std::string iterations_name = "optimizer/iterations";

std::string shape_text(const std::vector<std::uint64_t>& shape) {
    if (shape.size() == 1) return fmt::format("({},)", shape[0]);
    return fmt::format("({})", fmt::join(shape, ", "));
}

std::vector<parameter_ref> trainable_parameters(network& net) {
    std::vector<parameter_ref> params;
    for (const variable_ref& v : net.variables())
        if (v.trainable) params.push_back({v.name, v.value, v.grad});
    return params;
}

std::vector<expected_tensor> variable_tensors(network& net) {
    std::vector<expected_tensor> tensors;
    for (const variable_ref& v : net.variables())
        tensors.push_back({std::string(v.name), "F32", variable_shape(v), std::as_writable_bytes(v.value)});
    return tensors;
}

// The training state's tensors. Counters are copied through `counters` (I64 in the file, unsigned in memory):
// counters[0] is the optimizer's iterations, then one per BN layer.
std::vector<expected_tensor> training_tensors(network& net, optimizer& opt, std::vector<std::int64_t>& counters) {
    const auto params = trainable_parameters(net);
    opt.prepare(params);
    std::vector<expected_tensor> tensors;
    for (const optimizer_slot& slot : opt.state()) {
        std::vector<std::uint64_t> shape = {slot.values.size()};
        for (const variable_ref& v : net.variables()) {
            if (slot.name.starts_with(v.name) && slot.name.size() > v.name.size() && slot.name[v.name.size()] == '/' &&
                v.value.size() == slot.values.size()) {
                shape = variable_shape(v);
            }
        }
        tensors.push_back(
            {std::string(optimizer_prefix) + slot.name, "F32", shape, std::as_writable_bytes(slot.values)});
    }
    const auto bn = bn_layers_of(net);
    counters.assign(1 + bn.size(), 0);
    tensors.push_back({iterations_name, "I64", {}, std::as_writable_bytes(std::span(counters).first(1))});
    for (std::size_t k = 0; k < bn.size(); ++k) {
        tensors.push_back({fmt::format("{}{}/batches_seen", training_prefix, bn[k].name),
                           "I64",
                           {},
                           std::as_writable_bytes(std::span(counters).subspan(1 + k, 1))});
    }
    return tensors;
}

std::map<std::string, std::string> model_metadata(network& net, std::string_view content) {
    std::vector<std::string> profiles;
    for (const bn_layer_ref& bn : bn_layers_of(net))
        profiles.push_back(fmt::format("{}={}", bn.name, to_string(bn.profile)));
    return {{"schema", std::string(schema)},
            {"nnfuse_version", std::string(nnfuse_version)},
            {"content", std::string(content)},
            {"model", std::string(net.model_name())},
            {"architecture", std::string(net.architecture())},
            {"bn_profiles", fmt::format("{}", fmt::join(profiles, ","))}};
}

void save(const std::filesystem::path& file, std::span<const expected_tensor> tensors,
          const std::map<std::string, std::string>& metadata) {
    std::vector<tensor_to_write> to_write;
    for (const expected_tensor& t : tensors) to_write.push_back({t.name, t.dtype, t.shape, t.storage});
    write_file_atomically(file, serialize_safetensors(to_write, metadata));
}

// Checks that the file holds exactly `expected` (names, dtypes, shapes), ignoring names that start with
// one of `ignored_prefixes`; throws one message listing every problem.
void check_fit(const safetensors_file& file, std::string_view model, std::span<const expected_tensor> expected,
               std::span<const std::string_view> ignored_prefixes) {
    std::vector<std::string> missing, wrong, extra;
    std::map<std::string_view, const expected_tensor*> by_name;
    for (const expected_tensor& t : expected) {
        by_name.emplace(t.name, &t);
        const auto found = file.tensors().find(t.name);
        if (found == file.tensors().end()) {
            missing.push_back(fmt::format("`{}`", t.name));
        } else if (found->second.dtype != t.dtype || found->second.shape != t.shape) {
            wrong.push_back(fmt::format("`{}` (file {} {}, model {} {})", t.name, found->second.dtype,
                                        shape_text(found->second.shape), t.dtype, shape_text(t.shape)));
        }
    }
    for (const auto& [name, tensor] : file.tensors()) {
        if (by_name.contains(name)) continue;
        bool ignored = false;
        for (std::string_view prefix : ignored_prefixes)
            ignored = ignored || std::string_view(name).starts_with(prefix);
        if (!ignored) extra.push_back(fmt::format("`{}`", name));
    }
    if (missing.empty() && wrong.empty() && extra.empty()) return;
    std::vector<std::string> parts;
    if (!missing.empty()) parts.push_back(fmt::format("{} missing: {}", missing.size(), fmt::join(missing, ", ")));
    if (!wrong.empty())
        parts.push_back(fmt::format("{} of the wrong dtype or shape: {}", wrong.size(), fmt::join(wrong, ", ")));
    if (!extra.empty()) parts.push_back(fmt::format("{} not in the model: {}", extra.size(), fmt::join(extra, ", ")));
    throw checkpoint_error(fmt::format("{}: does not fit model {}: {}", file.source(), model, fmt::join(parts, "; ")));
}

void copy_in(const safetensors_file& file, std::span<const expected_tensor> tensors) {
    for (const expected_tensor& t : tensors) {
        const std::string_view bytes = file.data(file.tensors().at(t.name));
        std::memcpy(t.storage.data(), bytes.data(), bytes.size());
    }
}

std::string_view first_line(std::string_view text) { return text.substr(0, text.find('\n')); }

void check_architecture(const safetensors_file& file, network& net) {
    const auto found = file.metadata().find("architecture");
    if (found == file.metadata().end()) {
        throw checkpoint_error(
            fmt::format("{}: __metadata__ has no \"architecture\": not an nnfuse training checkpoint", file.source()));
    }
    std::string_view saved = found->second, current = net.architecture();
    if (saved == current) return;
    while (first_line(saved) == first_line(current)) {
        saved.remove_prefix(std::min(saved.size(), first_line(saved).size() + 1));
        current.remove_prefix(std::min(current.size(), first_line(current).size() + 1));
    }
    throw checkpoint_error(fmt::format(
        "{}: was saved from another architecture than model {}, so training cannot resume exactly: the file has "
        "\"{}\" where the model has \"{}\"",
        file.source(), net.model_name(), first_line(saved), first_line(current)));
}

}  // namespace

void save_weights(const std::filesystem::path& file, network& net) {
    save(file, variable_tensors(net), model_metadata(net, "weights"));
}

void load_weights(const std::filesystem::path& file, network& net) {
    const safetensors_file contents = read_safetensors(file);
    const auto tensors = variable_tensors(net);
    const std::string_view ignored[] = {optimizer_prefix, training_prefix};
    check_fit(contents, net.model_name(), tensors, ignored);
    copy_in(contents, tensors);
}

void save_training_checkpoint(const std::filesystem::path& file, network& net, optimizer& opt,
                              const training_progress& progress,
                              const std::map<std::string, std::string>& extra_metadata, const callback_set& callbacks) {
    std::vector<expected_tensor> tensors = variable_tensors(net);
    std::vector<std::int64_t> counters;
    for (expected_tensor& t : training_tensors(net, opt, counters)) tensors.push_back(std::move(t));
    counters[0] = static_cast<std::int64_t>(opt.iterations());
    const auto bn = bn_layers_of(net);
    for (std::size_t k = 0; k < bn.size(); ++k) counters[1 + k] = static_cast<std::int64_t>(*bn[k].batches_seen);

    auto metadata = model_metadata(net, "training");
    metadata["epochs_done"] = std::to_string(progress.epochs_done);
    metadata["seed"] = std::to_string(progress.seed);
    if (const random_state* random = net.randomness()) {
        metadata["random_seed"] = std::to_string(random->seed);
        metadata["random_step"] = std::to_string(random->step);
    }
    add_callback_state(callbacks, net, opt, metadata, tensors);
    for (const auto& [key, value] : extra_metadata) {
        if (!metadata.emplace(key, value).second) {
            throw std::invalid_argument(
                fmt::format("save_training_checkpoint: extra metadata \"{}\" is reserved", key));
        }
    }
    save(file, tensors, metadata);
}

loaded_training_checkpoint load_training_checkpoint(const std::filesystem::path& file, network& net, optimizer& opt,
                                                    const callback_set& callbacks) {
    const safetensors_file contents = read_safetensors(file);
    const auto content = contents.metadata().find("content");
    if (content == contents.metadata().end() || content->second != "training") {
        throw checkpoint_error(fmt::format(
            "{}: holds no training state (__metadata__ \"content\" is {}): it cannot resume training, only load "
            "weights",
            contents.source(), content == contents.metadata().end() ? "absent" : "\"" + content->second + "\""));
    }
    check_architecture(contents, net);
    std::vector<expected_tensor> tensors = variable_tensors(net);
    std::vector<std::int64_t> counters;
    for (expected_tensor& t : training_tensors(net, opt, counters)) tensors.push_back(std::move(t));
    const std::size_t counters_end = tensors.size();
    loaded_callback_state callback_state = read_callback_state(contents, callbacks, net, tensors);
    std::vector<std::string_view> ignored;
    if (callbacks.early_stop == nullptr) ignored.push_back(callback_tensors_prefix);
    check_fit(contents, net.model_name(), tensors, ignored);
    loaded_training_checkpoint loaded;
    loaded.progress.epochs_done = metadata_number(contents, "epochs_done");
    loaded.progress.seed = metadata_number(contents, "seed");
    loaded.metadata = contents.metadata();
    // Counters first, into `counters`, so a negative one is refused before anything of the model changes.
    std::vector<expected_tensor> counter_tensors(
        tensors.begin() + static_cast<std::ptrdiff_t>(counters_end - counters.size()),
        tensors.begin() + static_cast<std::ptrdiff_t>(counters_end));
    copy_in(contents, counter_tensors);
    for (std::size_t k = 0; k < counters.size(); ++k) {
        if (counters[k] < 0) {
            throw checkpoint_error(fmt::format("{}: tensor `{}` is negative ({}), but it counts steps",
                                               contents.source(), counter_tensors[k].name, counters[k]));
        }
    }
    // A file from before random states were saved has none. Its run took every step through fit, which set the seed
    // from "seed" and advanced the step once per optimizer iteration: those give the state back.
    const auto metadata_or = [&](const std::string& key, std::uint64_t otherwise) {
        return contents.metadata().contains(key) ? metadata_number(contents, key) : otherwise;
    };
    random_state random;
    if (net.randomness() != nullptr) {
        random = {metadata_or("random_seed", loaded.progress.seed),
                  metadata_or("random_step", static_cast<std::uint64_t>(counters[0]))};
    }
    copy_in(contents, tensors);
    opt.set_iterations(static_cast<std::uint64_t>(counters[0]));
    if (random_state* state = net.randomness()) *state = random;
    const auto bn = bn_layers_of(net);
    for (std::size_t k = 0; k < bn.size(); ++k) *bn[k].batches_seen = static_cast<std::uint64_t>(counters[1 + k]);
    apply_callback_state(callback_state, callbacks, opt);
    return loaded;
}

}  // namespace nnfuse
