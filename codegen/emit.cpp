#include "codegen/emit.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include <fmt/core.h>

namespace nnfuse::codegen {

namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("cannot read template {}", path.string()));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// "batch_normalization/gamma:0" -> "batch_normalization_gamma"
std::string identifier(const std::string& variable_name) {
    std::string id = variable_name.substr(0, variable_name.find(':'));
    for (char& c : id)
        if (c == '/') c = '_';
    return id;
}

std::string activation_enum(activation_kind kind) {
    return fmt::format("activation_kind::{}", keras_name(kind));
}

std::string activation_suffix(activation_kind kind) {
    return kind == activation_kind::linear ? "" : fmt::format("_{}", keras_name(kind));
}

std::string cpp_bool(bool value) { return value ? "true" : "false"; }

// One generated kernel: a per-target wrapper that fixes the building block's shapes, and its
// dispatch entry with the same name and parameters.
struct kernel {
    std::string name, parameters, arguments, call, shapes, layers, why;
    std::string call_arguments = {};  // what the wrapper passes to the building block, when not `arguments`
};

// One statement of a training step. Per-chunk statements run once for each chunk of the batch (rows [begin,
// begin + count), chunk number `chunk`), those between two whole-batch statements in one parallel phase;
// `merge` is what must run once that phase is over (adding the chunks' partial gradients, in chunk order).
// A task runs once, in the parallel phase of the per-chunk statements next to it, on whichever thread is free:
// whole-batch work that none of that phase's chunks reads or writes.
// `pixel_text`, when there is one, is what the statement becomes in train_pixel_batch, which reads the batch as
// rows of a uint8 image set instead of the float input x.
struct step_op {
    std::string text;
    bool per_chunk = false;
    std::string merge = {};
    bool task = false;
    std::string pixel_text = {};
};

// `pointer` advanced to the chunk's first row of `per_row` floats ("nullptr" stays nullptr).
std::string chunk_rows_of(const std::string& pointer, std::size_t per_row) {
    return pointer == "nullptr" ? pointer : fmt::format("{} + begin * {}", pointer, per_row);
}

// `text` indented by `spaces` more.
std::string indented(const std::string& text, std::size_t spaces) {
    std::string out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) out += std::string(spaces, ' ') + line + "\n";
    return out;
}

// The statements in order, each run of per-chunk ones (with the tasks among them) as one parallel phase followed
// by its merges. A phase's tasks are its work items after the chunks: item chunks + t runs task t.
std::string chunked(const std::vector<step_op>& ops) {
    std::string text;
    for (std::size_t i = 0; i < ops.size();) {
        if (!ops[i].per_chunk && !ops[i].task) {
            text += ops[i++].text;
            continue;
        }
        std::string body, tasks, merges;
        std::size_t task_count = 0;
        for (; i < ops.size() && (ops[i].per_chunk || ops[i].task); ++i) {
            if (ops[i].task) {
                const std::string item = task_count == 0 ? "chunks" : fmt::format("chunks + {}", task_count);
                ++task_count;
                tasks += fmt::format("        if (chunk == {}) {{\n", item) + indented(ops[i].text, 8) +
                         "            return;\n        }\n";
            } else {
                body += indented(ops[i].text, 4);
            }
            merges += ops[i].merge;
        }
        text += fmt::format("    runner_.run(chunks, {}[&](std::size_t chunk) {{\n",
                            task_count == 0 ? "" : fmt::format("{}, ", task_count)) +
                tasks +
                "        const std::size_t begin = chunk * nnfuse::chunk_rows;\n"
                "        const std::size_t count = std::min(nnfuse::chunk_rows, rows - begin);\n" +
                body + "    });\n" + merges;
    }
    return text;
}

class emitter {
public:
    emitter(const emit_request& request, const std::vector<layer_description>& layers, const model_plan& plan)
        : request_(request), layers_(layers), plan_(plan), from_pixels_(first_bn_reads_pixels(plan)) {}

    generated_files run() {
        declare_storage();
        for (const auto& step : plan_.steps) plan_step(step);
        std::string chain;
        for (const auto& layer : layers_) chain += (chain.empty() ? "" : " -> ") + layer.name;

        const std::vector<std::pair<std::string, std::string>> header_values = {
            {"banner", banner("//")},
            {"model", request_.model},
            {"layer_chain", chain},
            {"input_size", std::to_string(plan_.input_size)},
            {"classes", std::to_string(plan_.classes)},
            {"variable_count", std::to_string(variable_count_)},
            {"bn_count", std::to_string(bn_count_)},
            {"members", members_},
            {"architecture", architecture()},
        };
        const std::string logits_kernel = add_loss_kernel();
        const std::vector<std::pair<std::string, std::string>> source_values = {
            {"banner", banner("//")},
            {"model", request_.model},
            {"target_kernels", target_kernels()},
            {"constants", constants_},
            {"dispatch", dispatch()},
            {"arena_offsets", arena_offsets_},
            {"arena_pointers", arena_pointers_},
            {"variable_table", variable_table_},
            {"bn_table", bn_table_},
            {"forward_train", chunked(forward_ops_) + fmt::format("    return {};", buffer(plan_.logits))},
            {"train_step", train_step(forward_ops_, logits_kernel)},
            {"train_step_pixels", train_step_pixels(logits_kernel)},
            {"forward_infer", forward_infer()},
            {"loss_kernel", logits_kernel},
        };
        generated_files files;
        files.header = fill_template(read_file(request_.templates / "net.gen.hpp.in"), header_values, "net.gen.hpp.in");
        files.source = fill_template(read_file(request_.templates / "net.gen.cpp.in"), source_values, "net.gen.cpp.in");
        files.manifest = manifest();
        return files;
    }

private:
    std::string banner(const std::string& comment) const {
        return fmt::format(
            "{0} Generated by nnfuse-gen (codegen/) from the model {1} declared in {2}. DO NOT EDIT.\n"
            "{0} Command: {3}",
            comment, request_.model_expression, request_.model_header, request_.command_line);
    }

    // --- storage -------------------------------------------------------------------------------

    // A folded dense layer's copy holds its kernel, then its bias from the next whole cache line: where that is.
    static std::string folded_bias_at(const layer_description& dense) {
        return fmt::format("nnfuse::cache_line_floats({})", dense.in_size * dense.units);
    }

    void add_region(const std::string& member, const std::string& count, const std::string& what) {
        members_ += fmt::format("    float* {}_ = nullptr;  // {}\n", member, what);
        arena_offsets_ += fmt::format("    const std::size_t at_{} = take({});\n", member, count);
        arena_pointers_ += fmt::format("    {0}_ = base + at_{0};\n", member);
    }

    void declare_storage() {
        for (const auto& layer : layers_) {
            const bool folded = std::any_of(plan_.steps.begin(), plan_.steps.end(), [&](const step_plan& step) {
                return step.layer == &layer && step.applies_previous_bn;  // its chunks sum xhat^T . dz instead
            });
            if (layer.kind == layer_kind::dense) {
                if (!folded) add_partials(fmt::format("grad_{}_kernel", layer.name), layer.in_size * layer.units);
                if (layer.use_bias) add_partials(fmt::format("grad_{}_bias", layer.name), layer.units);
            }
            for (const auto& variable : layer.variables) {
                const std::string id = identifier(variable.name);
                std::size_t size = 1;
                for (std::size_t d : variable.dims) size *= d;
                add_region(id, std::to_string(size), variable.name);
                if (variable.trainable) add_region("grad_" + id, std::to_string(size), "gradient of " + variable.name);
                const std::string leaf = variable.name.substr(variable.name.rfind('/') + 1);
                std::string init = "nnfuse::initializer::zeros";
                std::size_t fan_in = 0, fan_out = 0;
                if (leaf == "gamma:0" || leaf == "moving_variance:0") init = "nnfuse::initializer::ones";
                if (leaf == "kernel:0") {
                    init = "nnfuse::initializer::glorot_uniform";
                    fan_in = variable.dims[0];
                    fan_out = variable.dims[1];
                }
                variable_table_ += fmt::format(
                    "    variables_[{}] = {{\"{}\", {{{}_, {}}}, {{{}}}, {}, {}, {}, {}}};\n", variable_count_++, variable.name,
                    id, size, variable.trainable ? fmt::format("grad_{}_, {}", id, size) : "", cpp_bool(variable.trainable),
                    init, fan_in, fan_out);
            }
            if (layer.kind == layer_kind::batch_norm) {
                const std::size_t c = layer.features;
                add_region(layer.name + "_batch_mean", std::to_string(c), "batch mean, saved for backward");
                add_region(layer.name + "_batch_var", std::to_string(c), "biased batch variance");
                add_region(layer.name + "_inv_std", std::to_string(c), "1/sqrt(batch variance + epsilon), saved for backward");
                constants_ += fmt::format("constexpr float {}_epsilon = {};\n", layer.name, layer.epsilon);
                constants_ += fmt::format("constexpr double {}_momentum = {};  // {} profile\n", layer.name, layer.momentum,
                                          to_string(layer.profile));
                bn_table_ += fmt::format(
                    "    bn_layers_[{0}] = {{\"{1}\", {2}, {3}, nnfuse::bn_profile::{4}, {{{1}_moving_mean_, {2}}}, "
                    "{{{1}_moving_variance_, {2}}}, &bn_batches_seen_[{0}]}};\n",
                    bn_count_++, layer.name, c, layer.rows_per_sample, to_string(layer.profile));
                max_bn_features_ = std::max(max_bn_features_, c);
            }
        }
        if (max_bn_features_ != 0) add_region("bn_scratch", std::to_string(2 * max_bn_features_), "backward's per-feature sums");
        if (!from_pixels_) {
            add_region("widened_input", fmt::format("max_batch * {}", plan_.input_size),
                       "train_pixel_batch's pixels as floats, the input of forward_train");
        }
        for (const auto& step : plan_.steps) {
            if (!step.folded_into_next) continue;
            const std::size_t c = step.layer->features;
            add_region(step.layer->name + "_chunk_moments",
                       fmt::format("nnfuse::chunk_count(max_batch) * nnfuse::kernels::bn_chunk_moments_floats({})", c),
                       "each chunk's batch statistics, merged in chunk order");
        }
        for (const auto& step : plan_.steps) {
            if (!step.applies_previous_bn) continue;
            const layer_description& dense = *step.layer;
            members_ += fmt::format(
                "    // The kernel with the previous BN's gamma folded in, then the bias with its beta (training); one copy\n"
                "    // per thread, made by the thread that reads it.\n"
                "    nnfuse::per_thread_copies {}_folded_{{{} + {}}};\n",
                dense.name, folded_bias_at(dense), dense.units);
            if (!dense.use_bias) {
                add_region(dense.name + "_dz_sum", std::to_string(dense.units), "column sums of dz");
                add_partials(dense.name + "_dz_sum", dense.units);
            }
            add_region(dense.name + "_xhat_dz", std::to_string(dense.in_size * dense.units),
                       "xhat^T . dz, from which the epilogue makes the kernel's and the previous BN's gradients");
            add_partials(dense.name + "_xhat_dz", dense.in_size * dense.units);
        }
        for (std::size_t b = 1; b < plan_.buffers.size(); ++b) {
            const auto& buf = plan_.buffers[b];
            add_region(buf.name, fmt::format("max_batch * {}", buf.per_sample), "activations");
            add_region("grad_" + buf.name, fmt::format("max_batch * {}", buf.per_sample), "their gradient");
        }
    }

    // The partial copies of a gradient summed over rows, one per chunk after the first.
    void add_partials(const std::string& gradient, std::size_t size) {
        add_region("partial_" + gradient, fmt::format("extra_chunks * {}", size),
                   "per-chunk partial sums of " + gradient + ", chunks 1, 2, ...");
    }

    std::string buffer(std::size_t index) const { return index == 0 ? "x" : plan_.buffers[index].name + "_"; }
    std::string grad_buffer(std::size_t index) const { return "grad_" + plan_.buffers[index].name + "_"; }

    std::string variable(const layer_description& layer, const std::string& leaf, bool present) const {
        return present ? fmt::format("{}_{}_", layer.name, leaf) : "nullptr";
    }
    std::string gradient(const layer_description& layer, const std::string& leaf, bool present) const {
        return present ? fmt::format("grad_{}_{}_", layer.name, leaf) : "nullptr";
    }

    // A model whose first step is a BN folded into the next dense layer reads nothing of its input in training but
    // the BN's statistics and xhat: both can come straight from uint8 pixels, with no float copy of the batch.
    static bool first_bn_reads_pixels(const model_plan& plan) {
        return !plan.steps.empty() && plan.steps.front().kind == step_kind::batch_norm && plan.steps.front().in == 0 &&
               plan.steps.front().folded_into_next;
    }

    // Inference, the batch cut into pieces for the threads (nnfuse::inference_pieces): every row's values are
    // computed on their own, so the pieces give what one pass over the batch gives. A stop before a BN layer
    // (bn_input) ends each piece there.
    std::string forward_infer() const {
        return "    const std::size_t pieces = nnfuse::inference_pieces(rows, runner_.threads());\n"
               "    runner_.run(pieces, [&](std::size_t piece) {\n"
               "        const std::size_t begin = piece * rows / pieces;\n"
               "        const std::size_t count = (piece + 1) * rows / pieces - begin;\n" +
               indented(forward_infer_, 4) + "    });\n" + bn_inputs_ + fmt::format("    return {};", buffer(plan_.logits));
    }

    // train_pixel_batch's step. From pixels, train_batch's statements with the first BN's reads of x replaced;
    // otherwise the batch widened to floats, chunk by chunk, then train_batch's step on them.
    std::string train_step_pixels(const std::string& loss_kernel) const {
        if (!from_pixels_) {
            return "    // Nothing here reads uint8 pixels: the batch is widened to floats on the training threads.\n"
                   "    runner_.run(chunks, [&](std::size_t chunk) {\n"
                   "        const std::size_t begin = chunk * nnfuse::chunk_rows;\n"
                   "        const std::size_t count = std::min(nnfuse::chunk_rows, rows - begin);\n"
                   "        nnfuse::gather_pixel_rows(batch.pixels.data(), batch.row_size, batch.samples.subspan(begin, count), "
                   "batch.scale, widened_input_ + begin * batch.row_size);\n"
                   "        nnfuse::prefetch_next_chunk(batch, begin, count);\n"
                   "    });\n"
                   "    const float* const x = widened_input_;\n" +
                   train_step(forward_ops_, loss_kernel);
        }
        const auto reads_x = [](const step_op& op) {
            return op.text.find("(x") != std::string::npos || op.text.find(" x,") != std::string::npos;
        };
        std::vector<step_op> ops = forward_ops_;
        ops.insert(ops.end(), backward_ops_.begin(), backward_ops_.end());
        for (const auto& op : ops) {
            if (op.pixel_text.empty() && reads_x(op)) {
                throw std::logic_error("nnfuse-gen: a training statement reads the float input x, which "
                                       "train_pixel_batch does not have:\n" + op.text);
            }
        }
        ops.resize(forward_ops_.size());
        for (auto& op : ops) {
            if (!op.pixel_text.empty()) op.text = op.pixel_text;
        }
        return train_step(ops, loss_kernel);
    }

    // --- kernels -------------------------------------------------------------------------------

    std::string add_kernel(kernel k) {
        for (auto& existing : kernels_) {
            if (existing.name == k.name) {
                existing.layers += ", " + k.layers;
                return k.name;
            }
        }
        kernels_.push_back(std::move(k));
        return kernels_.back().name;
    }

    void plan_step(const step_plan& step) {
        const layer_description& layer = *step.layer;
        const std::string act = activation_suffix(step.activation);
        const std::string in = buffer(step.in), out = buffer(step.out);
        const std::string grad_in = step.needs_input_grad ? grad_buffer(step.in) : "nullptr";
        const std::string grad_out = grad_buffer(step.out);
        const std::string y_for_derivative = step.activation == activation_kind::linear ? "nullptr" : out;
        std::string covers;
        for (const auto& name : step.covers) covers += (covers.empty() ? "" : " + ") + name;

        switch (step.kind) {
            case step_kind::dense: {
                // A dense layer that applies the previous BN's beta always has a bias in training: the folded one.
                const bool kernel_bias = layer.use_bias || step.applies_previous_bn;
                const std::string shape = fmt::format("k{}_n{}", layer.in_size, layer.units);
                const std::string variant = std::string(act) + (kernel_bias ? "" : "_nobias");
                const std::string targs = fmt::format("{}, {}, {}, {}", layer.in_size, layer.units,
                                                      activation_enum(step.activation), cpp_bool(kernel_bias));
                const std::string fwd = add_kernel({
                    fmt::format("dense_fwd_f32_{}{}", shape, variant),
                    "const float* x, std::size_t rows, const float* kernel, const float* bias, float* y",
                    "x, rows, kernel, bias, y",
                    fmt::format("kernels::DenseForward<{}>", targs),
                    fmt::format("x [N, {}] -> y [N, {}]", layer.in_size, layer.units), covers, step.why});
                const std::string bwd = add_kernel({
                    fmt::format("dense_bwd_f32_{}{}", shape, variant),
                    "const float* x, const float* y, float* dy, std::size_t rows, const float* kernel, float* dkernel, "
                    "float* dbias, float* dx",
                    "x, y, dy, rows, kernel, dkernel, dbias, dx",
                    fmt::format("kernels::DenseBackward<{}>", targs),
                    fmt::format("dy [N, {}] -> dkernel [{}, {}], dbias, dx [N, {}]", layer.units, layer.in_size, layer.units,
                                layer.in_size),
                    covers, "backward of the above; the activation's derivative from its output"});
                const std::string bias = variable(layer, "bias", layer.use_bias);
                forward_infer_ += fmt::format("    // {}\n    {}({}, count, {}_kernel_, {}, {});\n", covers, fwd,
                                              chunk_rows_of(in, layer.in_size), layer.name, bias,
                                              chunk_rows_of(out, layer.units));
                if (step.applies_previous_bn) {
                    plan_folded_dense(step, fwd, bwd, bias, y_for_derivative);
                    break;
                }
                forward_ops_.push_back({fmt::format("    // {}: {}\n    {}({}, count, {}_kernel_, {}, {});\n", covers,
                                                    step.why, fwd, chunk_rows_of(in, layer.in_size), layer.name, bias,
                                                    chunk_rows_of(out, layer.units)),
                                        true});
                const std::string dkernel = fmt::format("grad_{}_kernel", layer.name);
                const std::string dbias = fmt::format("grad_{}_bias", layer.name);
                std::string merge = partials_merge(dkernel, layer.in_size * layer.units);
                if (layer.use_bias) merge += partials_merge(dbias, layer.units);
                prepend_backward({{fmt::format("    // {}\n    {}({}, {}, {}, count, {}_kernel_, {}, {}, {});\n", covers, bwd,
                                               chunk_rows_of(in, layer.in_size), chunk_rows_of(y_for_derivative, layer.units),
                                               chunk_rows_of(grad_out, layer.units), layer.name,
                                               chunk_slot(dkernel, layer.in_size * layer.units),
                                               layer.use_bias ? chunk_slot(dbias, layer.units) : "nullptr",
                                               chunk_rows_of(grad_in, layer.in_size)),
                                   true, merge}});
                break;
            }
            case step_kind::batch_norm: {
                const std::size_t c = layer.features;
                const std::string variant =
                    std::string(act) + (layer.scale ? "" : "_nogamma") + (layer.center ? "" : "_nobeta");
                const std::string targs = fmt::format("{}, {}, {}, {}", c, activation_enum(step.activation),
                                                      cpp_bool(layer.scale), cpp_bool(layer.center));
                const std::string gamma = variable(layer, "gamma", layer.scale);
                const std::string beta = variable(layer, "beta", layer.center);
                const std::string rows = fmt::format("rows * {}", layer.rows_per_sample);
                const std::string infer = add_kernel({
                    fmt::format("bn_fwd_infer_f32_c{}{}", c, variant),
                    "const float* x, std::size_t rows, float epsilon, const float* gamma, const float* beta, "
                    "const float* moving_mean, const float* moving_var, float* y",
                    "x, rows, epsilon, gamma, beta, moving_mean, moving_var, y",
                    fmt::format("kernels::BnForwardInfer<{}>", targs), fmt::format("[M, {}], y = x * s + t", c), covers,
                    "inference: one pass with s, t from the moving statistics"});
                const std::size_t per_row = layer.rows_per_sample * c;
                forward_infer_ += fmt::format(
                    "    // {0}\n    if (stop_before_bn == {1}) return;\n"
                    "    {2}({3}, count * {4}, {5}_epsilon, {6}, {7}, {5}_moving_mean_, {5}_moving_variance_, {8});\n",
                    covers, step.bn_index, infer, chunk_rows_of(in, per_row), layer.rows_per_sample, layer.name, gamma,
                    beta, chunk_rows_of(out, per_row));
                bn_inputs_ += fmt::format("    if (stop_before_bn == {}) return {};\n", step.bn_index, in);
                if (!layer.trainable) {
                    forward_ops_.push_back(
                        {fmt::format("    // {}: {}\n    {}({}, count * {}, {}_epsilon, {}, {}, {}_moving_mean_, "
                                     "{}_moving_variance_, {});\n",
                                     covers, step.why, infer, chunk_rows_of(in, per_row), layer.rows_per_sample, layer.name,
                                     gamma, beta, layer.name, layer.name, chunk_rows_of(out, per_row)),
                         true});
                    if (step.needs_input_grad) {
                        const std::string bwd = add_kernel({
                            fmt::format("bn_bwd_frozen_f32_c{}{}", c, variant),
                            "const float* y, const float* dy, std::size_t rows, float epsilon, const float* gamma, "
                            "const float* moving_var, float* dx",
                            "y, dy, rows, epsilon, gamma, moving_var, dx",
                            fmt::format("kernels::BnBackwardFrozen<{}, {}, {}>", c, activation_enum(step.activation),
                                        cpp_bool(layer.scale)),
                            fmt::format("dy [M, {}] -> dx", c), covers, "frozen layer: dx = dy * act' * s"});
                        prepend_backward({{fmt::format("    // {}\n    {}({}, {}, count * {}, {}_epsilon, {}, "
                                                       "{}_moving_variance_, {});\n",
                                                       covers, bwd, chunk_rows_of(y_for_derivative, per_row),
                                                       chunk_rows_of(grad_out, per_row), layer.rows_per_sample, layer.name,
                                                       gamma, layer.name, chunk_rows_of(grad_in, per_row)),
                                           true}});
                    }
                    break;
                }
                if (step.folded_into_next) {
                    plan_folded_bn(step);
                    break;
                }
                const std::string fwd = add_kernel({
                    fmt::format("bn_fwd_train_f32_c{}{}", c, variant),
                    "const float* x, std::size_t rows, float epsilon, const float* gamma, const float* beta, "
                    "float* batch_mean, float* batch_var, float* inv_std, float* y",
                    "x, rows, epsilon, gamma, beta, batch_mean, batch_var, inv_std, y",
                    fmt::format("kernels::BnForwardTrain<{}>", targs), fmt::format("[M, {}] (M = batch values per feature)", c),
                    covers, step.why});
                const std::string bwd = add_kernel({
                    fmt::format("bn_bwd_f32_c{}{}", c, variant),
                    "const float* x, const float* y, const float* dy, std::size_t rows, const float* gamma, "
                    "const float* batch_mean, const float* inv_std, float* dgamma, float* dbeta, float* dx, float* scratch",
                    "x, y, dy, rows, gamma, batch_mean, inv_std, dgamma, dbeta, dx, scratch",
                    fmt::format("kernels::BnBackward<{}>", targs), fmt::format("dy [M, {}] -> dgamma, dbeta, dx", c), covers,
                    step.needs_input_grad ? "reductions pass, then dx pass"
                                          : "input is the model's input: dgamma and dbeta only, dx not computed"});
                forward_ops_.push_back({fmt::format("    // {}: {}\n", covers, step.why) + bn_train_prologue(step, rows) +
                                        fmt::format("    {0}({1}, {2}, {3}_epsilon, {4}, {5}, {3}_batch_mean_, "
                                                    "{3}_batch_var_, {3}_inv_std_, {6});\n",
                                                    fwd, in, rows, layer.name, gamma, beta, out) +
                                        bn_moving_update(step, rows)});
                prepend_backward({{fmt::format("    // {0}\n    {1}({2}, {3}, {4}, {5}, {6}, {7}_batch_mean_, {7}_inv_std_, "
                                               "{8}, {9}, {10}, bn_scratch_);\n",
                                               covers, bwd, in, y_for_derivative, grad_out, rows, gamma, layer.name,
                                               gradient(layer, "gamma", layer.scale && layer.trainable),
                                               gradient(layer, "beta", layer.center && layer.trainable), grad_in)}});
                break;
            }
            case step_kind::activation: {
                const std::size_t n = layer.out_size;
                const std::string fwd = add_kernel({
                    fmt::format("act_fwd_f32_n{}{}", n, act), "const float* x, std::size_t rows, float* y", "x, rows, y",
                    fmt::format("kernels::ActivationForward<{}, {}>", n, activation_enum(step.activation)),
                    fmt::format("[N, {}]", n), covers, step.why});
                forward_ops_.push_back({fmt::format("    // {}: {}\n    {}({}, count, {});\n", covers, step.why, fwd,
                                                    chunk_rows_of(in, n), chunk_rows_of(out, n)),
                                        true});
                forward_infer_ += fmt::format("    // {}\n    {}({}, count, {});\n", covers, fwd, chunk_rows_of(in, n),
                                              chunk_rows_of(out, n));
                if (step.needs_input_grad) {
                    const std::string bwd = add_kernel({
                        fmt::format("act_bwd_f32_n{}{}", n, act),
                        "const float* y, const float* dy, std::size_t rows, float* dx", "y, dy, rows, dx",
                        fmt::format("kernels::ActivationBackward<{}, {}>", n, activation_enum(step.activation)),
                        fmt::format("[N, {}]", n), covers, "derivative from the output"});
                    prepend_backward({{fmt::format("    // {}\n    {}({}, {}, count, {});\n", covers, bwd,
                                                   chunk_rows_of(out, n), chunk_rows_of(grad_out, n),
                                                   chunk_rows_of(grad_in, n)),
                                       true}});
                }
                break;
            }
        }
    }

    // The training checks and moving-statistics update every trainable BN step starts with.
    std::string bn_train_prologue(const step_plan& step, const std::string& rows) const {
        const layer_description& layer = *step.layer;
        std::string dims;
        for (std::size_t d : layer.in_dims) dims += fmt::format(", {}", d);
        return fmt::format(
            "    if ({0} < 2) {{\n"
            "        throw std::invalid_argument(\"Expected more than 1 value per channel when training, got input \"\n"
            "                                    \"size [\" + std::to_string(rows) + \"{1}]\");\n"
            "    }}\n",
            rows, dims);
    }

    std::string bn_moving_update(const step_plan& step, const std::string& rows) const {
        const layer_description& layer = *step.layer;
        return fmt::format(
            "    nnfuse::kernels::BnUpdateMoving({0}, {1}_batch_mean_, {1}_batch_var_, {2}, nnfuse::bn_profile::{3}, "
            "{1}_momentum, {4}, ++bn_batches_seen_[{5}], {1}_moving_mean_, {1}_moving_variance_);\n",
            layer.features, layer.name, rows, to_string(layer.profile), cpp_bool(layer.cumulative_average),
            step.bn_index);
    }

    // A BN folded into the next dense layer (plan.hpp): in training it only normalizes, xhat; no backward step.
    // Its statistics come chunk by chunk (any thread), merged once in chunk order (bn_chunked-inl.h); each chunk is
    // then normalized in the parallel phase of the dense layer that reads it, while its rows are still in cache.
    void plan_folded_bn(const step_plan& step) {
        const layer_description& layer = *step.layer;
        const std::size_t c = layer.features;
        const std::string moments = add_kernel({
            fmt::format("bn_chunk_moments_f32_c{}", c), "const float* x, std::size_t rows, float* moments",
            "x, rows, moments", fmt::format("kernels::BnChunkMoments<{}>", c),
            fmt::format("chunk [n, {}] -> center, sum(x - center), sum((x - center)^2)", c), layer.name,
            "a chunk's statistics, on whichever thread runs the chunk"});
        const std::string merge = add_kernel({
            fmt::format("bn_merge_chunk_moments_f32_c{}", c),
            "const float* moments, std::size_t rows, std::size_t chunk_rows, float epsilon, float* batch_mean, "
            "float* batch_var, float* inv_std",
            "moments, rows, chunk_rows, epsilon, batch_mean, batch_var, inv_std",
            fmt::format("kernels::BnMergeChunkMoments<{}>", c), fmt::format("chunks' moments -> mean, var, inv_std [{}]", c),
            layer.name, "the chunks' statistics merged in chunk order (Chan et al., in double): the same for any thread count"});
        const std::string normalize = add_kernel({
            fmt::format("bn_normalize_f32_c{}", c),
            "const float* x, std::size_t rows, const float* batch_mean, const float* inv_std, float* xhat",
            "x, rows, batch_mean, inv_std, xhat", fmt::format("kernels::BnNormalizeRows<{}>", c),
            fmt::format("[n, {}] -> xhat", c), layer.name, step.why});
        const std::string chunk_moments = fmt::format("{}_chunk_moments_", layer.name);
        const std::string chunk_moments_slot =
            fmt::format("{} + chunk * nnfuse::kernels::bn_chunk_moments_floats({})", chunk_moments, c);
        forward_ops_.push_back({fmt::format("    // {}: {}\n", layer.name, step.why) + bn_train_prologue(step, "rows")});
        bn_moments_op_ = forward_ops_.size();
        forward_ops_.push_back({fmt::format("    {}({}, count, {});\n", moments, chunk_rows_of(buffer(step.in), c),
                                            chunk_moments_slot),
                                true});
        if (&step == &plan_.steps.front() && from_pixels_) {
            const std::string pixel_moments = add_kernel({
                fmt::format("bn_chunk_moments_u8_c{}", c),
                "const std::uint8_t* pixels, const std::uint32_t* rows, std::size_t count, float scale, float* moments",
                "pixels, rows, count, scale, moments", fmt::format("kernels::BnChunkMomentsFromPixels<{}>", c),
                fmt::format("chunk of uint8 rows [n, {}] -> the chunk's moments", c), layer.name,
                "a chunk's statistics straight from the pixels (train_pixel_batch): exact integer sums, one pass "
                "over uint8, no float copy of the batch"});
            forward_ops_.back().pixel_text = fmt::format(
                "    {}(batch.pixels.data(), batch.samples.data() + begin, count, batch.scale, {});\n"
                "    // The next batch's rows of this chunk: their memory latency passes during the step.\n"
                "    nnfuse::prefetch_next_chunk(batch, begin, count);\n",
                pixel_moments, chunk_moments_slot);
        }
        forward_ops_.push_back({fmt::format("    {0}({1}, rows, nnfuse::chunk_rows, {2}_epsilon, {2}_batch_mean_, "
                                            "{2}_batch_var_, {2}_inv_std_);\n",
                                            merge, chunk_moments, layer.name)});
        // Nothing in the step reads the moving statistics: their update is a task beside the normalizing chunks.
        forward_ops_.push_back({bn_moving_update(step, "rows"), false, {}, true});
        forward_ops_.push_back({fmt::format("    {0}({1}, count, {2}_batch_mean_, {2}_inv_std_, {3});\n", normalize,
                                            chunk_rows_of(buffer(step.in), c), layer.name,
                                            chunk_rows_of(buffer(step.out), c)),
                                true});
        if (&step == &plan_.steps.front() && from_pixels_) {
            const std::string pixel_normalize = add_kernel({
                fmt::format("bn_normalize_u8_c{}", c),
                "const std::uint8_t* pixels, const std::uint32_t* rows, std::size_t count, float scale, "
                "const float* batch_mean, const float* inv_std, float* xhat",
                "pixels, rows, count, scale, batch_mean, inv_std, xhat",
                fmt::format("kernels::BnNormalizePixelRows<{}>", c), fmt::format("uint8 rows [n, {}] -> xhat", c),
                layer.name, "xhat straight from the pixels (train_pixel_batch), in dense's parallel phase"});
            forward_ops_.back().pixel_text =
                fmt::format("    {0}(batch.pixels.data(), batch.samples.data() + begin, count, batch.scale, {1}_batch_mean_, "
                            "{1}_inv_std_, {2});\n",
                            pixel_normalize, layer.name, chunk_rows_of(buffer(step.out), c));
        }
    }

    // The dense layer that applies the previous BN's gamma and beta (plan.hpp, bn_dense_fold-inl.h).
    void plan_folded_dense(const step_plan& step, const std::string& fwd, const std::string& bwd, const std::string& bias,
                           const std::string& y_for_derivative) {
        const layer_description& layer = *step.layer;
        const layer_description& bn = *(&step - 1)->layer;
        const std::string shape = fmt::format("k{}_n{}", layer.in_size, layer.units);
        const std::string fold = add_kernel({
            fmt::format("bn_fold_into_dense_f32_{}", shape),
            "const float* gamma, const float* beta, const float* kernel, const float* bias, float* folded_kernel, "
            "float* folded_bias",
            "gamma, beta, kernel, bias, folded_kernel, folded_bias",
            fmt::format("kernels::BnFoldIntoDense<{}, {}>", layer.in_size, layer.units),
            fmt::format("gamma, beta [{0}], kernel [{0}, {1}] -> folded kernel, bias", layer.in_size, layer.units),
            bn.name + " + " + layer.name, "gamma scales the kernel's rows, beta . kernel joins the bias (once a step, by each thread into its own copy)"});
        const std::string epilogue = add_kernel({
            fmt::format("bn_dense_grad_epilogue_f32_{}", shape),
            "const float* gamma, const float* beta, const float* kernel, const float* dz_sum, const float* xhat_dz, "
            "float* dkernel, float* dgamma, float* dbeta",
            "gamma, beta, kernel, dz_sum, xhat_dz, dkernel, dgamma, dbeta",
            fmt::format("kernels::BnDenseGradientEpilogue<{}, {}>", layer.in_size, layer.units),
            fmt::format("xhat^T . dz [{}, {}], sum(dz) -> dkernel, dgamma, dbeta", layer.in_size, layer.units),
            bn.name + " + " + layer.name,
            "BN's gradients from the dense layer's: dgamma = rows of kernel . (xhat^T dz), dbeta = kernel . sum(dz)"});
        const std::string dz_sum = layer.use_bias ? fmt::format("grad_{}_bias", layer.name) : layer.name + "_dz_sum";
        const std::string xhat_dz = layer.name + "_xhat_dz";
        // Each thread folds into its own copy where its chunks first read it: a copy that one thread rewrites and
        // the others read costs an invalidation per cache line (per_thread_copies.hpp). The step's copies count as
        // stale from the end of the statistics phase on, before any chunk reads one.
        forward_ops_.insert(forward_ops_.begin() + static_cast<std::ptrdiff_t>(bn_moments_op_ + 1),
                            {fmt::format("    {}_folded_.begin_step(runner_.threads());\n", layer.name)});
        const std::string bias_at = folded_bias_at(layer);
        forward_ops_.push_back(
            {fmt::format("    // {}: {}\n", layer.name, step.why) +
                 fmt::format("    float* const {0}_folded = {0}_folded_.this_threads_copy([&](float* copy) {{\n"
                             "        {1}({2}_gamma_, {2}_beta_, {0}_kernel_, {3}, copy, copy + {4});\n"
                             "    }});\n",
                             layer.name, fold, bn.name, bias, bias_at) +
                 fmt::format("    {0}({1}, count, {2}_folded, {2}_folded + {3}, {4});\n", fwd,
                             chunk_rows_of(buffer(step.in), layer.in_size), layer.name, bias_at,
                             chunk_rows_of(buffer(step.out), layer.units)),
             true});
        prepend_backward(
            {{fmt::format("    // {0} (on {1}'s xhat), then {1}'s gradients from {0}'s\n", layer.name, bn.name) +
                  fmt::format("    {}({}, {}, {}, count, {}_kernel_, {}, {}, nullptr);\n", bwd,
                              chunk_rows_of(buffer(step.in), layer.in_size), chunk_rows_of(y_for_derivative, layer.units),
                              chunk_rows_of(grad_buffer(step.out), layer.units), layer.name,
                              chunk_slot(xhat_dz, layer.in_size * layer.units), chunk_slot(dz_sum, layer.units)),
              true, partials_merge(xhat_dz, layer.in_size * layer.units) + partials_merge(dz_sum, layer.units)},
             {fmt::format("    {0}({1}_gamma_, {1}_beta_, {2}_kernel_, {3}_, {4}_, grad_{2}_kernel_, grad_{1}_gamma_, "
                          "grad_{1}_beta_);\n",
                          epilogue, bn.name, layer.name, dz_sum, xhat_dz)}});
    }

    // Where chunk `chunk` writes its share of a gradient summed over rows (array `gradient`_, partials_`gradient`_).
    static std::string chunk_slot(const std::string& gradient, std::size_t size) {
        return fmt::format("chunk_slot({0}_, partial_{0}_, {1}, chunk)", gradient, size);
    }
    static std::string partials_merge(const std::string& gradient, std::size_t size) {
        return fmt::format("    nnfuse::add_chunk_partials({0}_, partial_{0}_, {1}, chunks);\n", gradient, size);
    }

    // A step's backward statements go before those of the steps after it (backward runs the steps in reverse).
    void prepend_backward(std::vector<step_op> ops) { backward_ops_.insert(backward_ops_.begin(), ops.begin(), ops.end()); }

    // A training step: the forward statements `ops`, the loss (per chunk, each chunk's sums in chunk_results_; the
    // mean over the batch, as Keras: each row's gradient is scaled by 1/rows) and the backward pass. Everything from
    // the last batch statistics of the forward pass to the first sums over the batch of the backward pass is per
    // row, so chunked() makes it one parallel phase: a chunk's activations feed its backward statements while they
    // are still in that core's cache, and the step waits for the other threads once less.
    std::string train_step(std::vector<step_op> ops, const std::string& loss_kernel) const {
        const std::string logits = buffer(plan_.logits);
        ops.push_back({fmt::format("    // loss\n"
                                   "    chunk_results_[chunk] = {{}};\n"
                                   "    {}({}, labels + begin, count, 1.0f / static_cast<float>(rows), {}, "
                                   "&chunk_results_[chunk].loss_sum, &chunk_results_[chunk].correct);\n",
                                   loss_kernel, chunk_rows_of(logits, plan_.classes),
                                   chunk_rows_of(grad_buffer(plan_.logits), plan_.classes)),
                       true});
        ops.insert(ops.end(), backward_ops_.begin(), backward_ops_.end());
        return chunked(ops);
    }

    std::string add_loss_kernel() {
        return add_kernel({fmt::format("softmax_xent_f32_c{}", plan_.classes),
                           "const float* logits, const std::int32_t* labels, std::size_t rows, float grad_scale, "
                           "float* dlogits, double* loss_sum, std::size_t* correct",
                           "logits, labels, rows, grad_scale, dlogits, loss_sum, correct",
                           fmt::format("kernels::SoftmaxCrossEntropy<{}>", plan_.classes),
                           fmt::format("logits [N, {}]", plan_.classes), "loss",
                           "softmax and sparse categorical cross-entropy in one pass; gradient p - onehot"});
    }

    std::string target_kernels() const {
        std::string text;
        for (const auto& k : kernels_) {
            text += fmt::format("// {}: {}\nHWY_NOINLINE void {}({}) {{\n    {}({});\n}}\n\n", k.layers, k.shapes, k.name,
                                k.parameters, k.call, k.call_arguments.empty() ? k.arguments : k.call_arguments);
        }
        return text;
    }

    std::string dispatch() const {
        std::string text = "// Each kernel runs on the best SIMD target of this machine, chosen once at run time.\n";
        for (const auto& k : kernels_) {
            text += fmt::format("HWY_EXPORT({0});\nstatic void {0}({1}) {{ HWY_DYNAMIC_DISPATCH({0})({2}); }}\n", k.name,
                                k.parameters, k.arguments);
        }
        return text;
    }

    // The declared layers as a C++ string literal, one line per layer.
    std::string architecture() const {
        std::string text;
        for (const auto& layer : layers_) {
            std::string line = fmt::format("{} ({}) {}", layer.name, layer.keras_class, layer.out_shape);
            if (layer.kind == layer_kind::dense) {
                line += fmt::format(" units={} activation={} use_bias={}", layer.units, keras_name(layer.activation),
                                    layer.use_bias ? "true" : "false");
            } else if (layer.kind == layer_kind::activation) {
                line += fmt::format(" activation={}", keras_name(layer.activation));
            } else if (layer.kind == layer_kind::batch_norm) {
                line += fmt::format(" profile={} momentum={} epsilon={} cumulative_average={} center={} scale={} trainable={}",
                                    to_string(layer.profile), layer.momentum, layer.epsilon,
                                    cpp_bool(layer.cumulative_average), cpp_bool(layer.center), cpp_bool(layer.scale),
                                    cpp_bool(layer.trainable));
            }
            text += fmt::format("\n        \"{}\\n\"", line);
        }
        return text.substr(std::string("\n        ").size());
    }

    std::string manifest() const {
        std::string text = fmt::format(
            "# {} — generated kernels\n\n{}\n\nLayers: ", request_.model, banner(">"));
        for (const auto& layer : layers_) text += fmt::format("{} ({}) {}; ", layer.name, layer.keras_class, layer.out_shape);
        text += "\n\n| kernel | shapes | layers | what it does, fused, and why |\n|---|---|---|---|\n";
        for (const auto& k : kernels_) text += fmt::format("| `{}` | {} | {} | {} |\n", k.name, k.shapes, k.layers, k.why);
        text += "\nDecisions without a kernel:\n";
        for (const auto& note : plan_.notes) text += "- " + note + "\n";
        return text;
    }

    const emit_request& request_;
    const std::vector<layer_description>& layers_;
    const model_plan& plan_;
    std::vector<kernel> kernels_;
    std::string members_, arena_offsets_, arena_pointers_, variable_table_, bn_table_, constants_;
    std::vector<step_op> forward_ops_, backward_ops_;
    const bool from_pixels_;  // train_pixel_batch reads uint8 pixels itself (first_bn_reads_pixels)
    std::size_t bn_moments_op_ = 0;  // where the last folded BN's per-chunk statistics are in forward_ops_
    std::string forward_infer_;  // one piece's inference statements
    std::string bn_inputs_;      // forward_infer's return for a stop before each BN layer
    std::size_t variable_count_ = 0, bn_count_ = 0, max_bn_features_ = 0;
};

}  // namespace

std::string fill_template(const std::string& text, const std::vector<std::pair<std::string, std::string>>& values,
                          const std::string& template_name) {
    std::string out;
    std::size_t at = 0;
    while (true) {
        const std::size_t open = text.find("${", at);
        if (open == std::string::npos) break;
        const std::size_t close = text.find('}', open);
        if (close == std::string::npos) throw std::runtime_error(fmt::format("{}: unclosed ${{", template_name));
        const std::string key = text.substr(open + 2, close - open - 2);
        auto found = std::find_if(values.begin(), values.end(), [&](const auto& kv) { return kv.first == key; });
        if (found == values.end()) throw std::runtime_error(fmt::format("{}: no value for ${{{}}}", template_name, key));
        out.append(text, at, open - at);
        out += found->second;
        at = close + 1;
    }
    out.append(text, at);
    return out;
}

bool write_if_changed(const std::filesystem::path& path, const std::string& text) {
    {
        std::ifstream in(path, std::ios::binary);
        if (in) {
            std::ostringstream existing;
            existing << in.rdbuf();
            if (existing.str() == text) return false;
        }
    }
    const std::filesystem::path temporary = path.string() + ".tmp";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out.flush()) throw std::runtime_error(fmt::format("cannot write {}", temporary.string()));
    }
    std::filesystem::rename(temporary, path);
    return true;
}

generated_files render(const emit_request& request, const std::vector<layer_description>& layers, const model_plan& plan) {
    return emitter(request, layers, plan).run();
}

}  // namespace nnfuse::codegen
