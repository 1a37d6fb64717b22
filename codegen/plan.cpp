#include "codegen/plan.hpp"

#include <algorithm>
#include <map>

#include <fmt/core.h>

#include "codegen/layers/bn_dense_fold.hpp"
#include "codegen/layers/conv_bn_fold.hpp"
#include "codegen/layers/conv_bn_input.hpp"
#include "codegen/layers/conv_bn_moments.hpp"
#include "codegen/layers/layer_module.hpp"
#include "codegen/layers/pool2d.hpp"
#include "codegen/losses/loss_module.hpp"
#include "codegen/plan_passes.hpp"

namespace nnfuse::codegen {

namespace {

template <class Function>
auto visit_kind(const layer_description& layer, Function f) {
    return std::visit(f, layer.parameters);
}

template <class Function>
auto visit_loss(const loss_description& loss, Function f) {
    return std::visit(f, loss.parameters);
}

// The layers each layer reads: its `inputs`, or the chain's (the layer before; model_input for the first).
std::vector<std::vector<std::size_t>> inputs_of(const std::vector<layer_description>& layers) {
    std::vector<std::vector<std::size_t>> inputs;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        inputs.push_back(layers[i].inputs.empty() ? std::vector<std::size_t>{i == 0 ? model_input : i - 1}
                                                  : layers[i].inputs);
        if (inputs.back().size() > 2 || (inputs.back().size() == 2) != (layers[i].as<add_parameters>() != nullptr)) {
            throw plan_error(fmt::format("internal: layer '{}' reads {} layers", layers[i].name, inputs.back().size()));
        }
        for (const std::size_t j : inputs.back()) {
            if (j != model_input && j >= i) {
                throw plan_error(fmt::format("internal: layer '{}' reads a layer after it", layers[i].name));
            }
        }
    }
    return inputs;
}

std::vector<step> plan_steps(const std::vector<layer_description>& layers, model_plan& plan) {
    const auto fused_by_loss = visit_loss(plan.loss, [](const auto& p) { return losses::fused_activation(p); });
    const auto makes_step = [](const layer_description& l) {
        return visit_kind(l, [](const auto& p) { return layers::makes_step(p); });
    };
    const std::vector<std::vector<std::size_t>> inputs = inputs_of(layers);
    // How many steps read each layer's output (a reshape makes no step: the layers reading it are counted on it).
    std::vector<std::size_t> step_reads(layers.size(), 0);
    for (std::size_t i = 0; i < layers.size(); ++i) {
        if (!makes_step(layers[i])) continue;
        for (const std::size_t j : inputs[i]) step_reads[j] += j == model_input ? 0 : 1;
    }
    std::vector<std::size_t> buffer_of(layers.size(), 0);  // the buffer holding each layer's output (0: x)
    std::map<std::size_t, std::size_t> writer;             // buffer -> the step writing it
    const auto buffer_read = [&](std::size_t j) { return j == model_input ? std::size_t{0} : buffer_of[j]; };
    // How many steps read buffer b, over the layers before layer `end` whose output it holds.
    const auto steps_reading = [&](std::size_t b, std::size_t end) {
        std::size_t n = 0;
        for (std::size_t l = 0; l < end; ++l) n += buffer_of[l] == b ? step_reads[l] : 0;
        return n;
    };
    // Whether a gradient flows back into buffer b: not into x, nor out of a step before which nothing trains.
    const auto gradient_reaches = [&](const std::vector<step>& steps, std::size_t b) {
        return b != 0 &&
               visit_kind(*steps.at(writer.at(b)).layer, [](const auto& p) { return layers::passes_gradient_back(p); });
    };
    std::vector<step> steps;
    std::size_t bn_count = 0;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const layer_description& layer = layers[i];
        const bool is_last = i + 1 == layers.size();
        const std::size_t in = buffer_read(inputs[i][0]);
        buffer_of[i] = in;  // unless it makes a step of its own
        if (layer.activation() == activation_kind::softmax && !is_last) {
            throw plan_error(fmt::format("layer '{}': softmax is supported only as the last layer", layer.name));
        }
        if (!makes_step(layer)) {
            plan.notes.push_back(fmt::format("{}: a reshape of the same memory, no kernel", layer.name));
            continue;
        }
        const auto element_wise = visit_kind(layer, [](const auto& p) { return layers::element_wise_activation(p); });
        if (element_wise && is_last && element_wise == fused_by_loss) {  // the loss applies it
            plan.notes.push_back(fmt::format("{}: {} fused with the loss {}", layer.name, keras_name(*element_wise),
                                             plan.loss.keras_name));
            continue;
        }
        if (element_wise && !steps.empty()) {
            step& previous = steps.back();
            if (previous.out == in && previous.activation == activation_kind::linear &&
                visit_kind(*previous.layer, [](const auto& p) { return layers::absorbs_activation(p); })) {
                if (steps_reading(in, i) == 1) {
                    previous.activation = *element_wise;
                    previous.covers.push_back(layer.name);
                    previous.why += fmt::format(
                        "; {} applied in the same pass (its derivative is taken from the output in backward)",
                        layer.name);
                    continue;
                }
                plan.notes.push_back(fmt::format("{}: a step of its own: {}'s output is also read by a residual's Add",
                                                 layer.name, previous.layer->name));
            }
        }
        step s;
        s.layer = &layer;
        s.covers = {layer.name};
        s.in = in;
        visit_kind(layer, [&](const auto& p) { layers::init_step(p, s); });
        if (layer.as<batch_norm_parameters>() != nullptr) s.bn_index = bn_count++;
        plan.buffers.push_back({{"out_" + layer.name, extent::rows, layer.out_size, "activations"},
                                {"grad_out_" + layer.name, extent::rows, layer.out_size, "their gradient"}});
        s.out = buffer_of[i] = plan.buffers.size() - 1;
        s.needs_input_grad = gradient_reaches(steps, s.in);
        if (inputs[i].size() == 2) {
            s.skip_in = buffer_read(inputs[i][1]);
            if (*s.skip_in == s.in) {
                throw plan_error(fmt::format(
                    "layer '{}': the residual block computes nothing (its layers only reshape): Add would sum its "
                    "input with itself; give the block a layer with a kernel",
                    layer.name));
            }
            s.needs_skip_grad = gradient_reaches(steps, *s.skip_in);
        }
        writer[s.out] = steps.size();
        steps.push_back(std::move(s));
    }
    plan.output = buffer_of.back();
    // dy of an Add is its block's output's gradient: one storage. Outer blocks first, so that a block ending in a
    // nested residual's Add passes the outer Add's storage on to the nested block.
    // A block whose last step applies an activation scales its dy by the derivative in place (dense, conv2d): that
    // block gets a copy of dy instead (codegen/layers/add.cpp), the Add's own dy kept for x's gradient.
    for (auto s = steps.rbegin(); s != steps.rend(); ++s) {
        if (!s->skip_in) continue;
        const step& block_last = steps.at(writer.at(s->in));
        if (block_last.activation != activation_kind::linear) {
            plan.notes.push_back(fmt::format("{}: dy copied for {}, which scales it in place by {}'s derivative",
                                             s->layer->name, block_last.layer->name,
                                             keras_name(block_last.activation)));
            continue;
        }
        plan.buffers[s->in].gradient = plan.buffers[s->out].gradient;
        plan.notes.push_back(fmt::format("{}: its block's output gradient is {} itself, no copy", s->layer->name,
                                         plan.buffers[s->out].gradient.name));
    }
    return steps;
}

// How many steps read buffer b.
std::size_t steps_reading(const model_plan& plan, std::size_t b) {
    return static_cast<std::size_t>(std::count_if(plan.steps.begin(), plan.steps.end(),
                                                  [&](const step& s) { return s.in == b || s.skip_in == b; }));
}

void fold_bn_into_dense(model_plan& plan) {
    for (std::size_t i = 0; i + 1 < plan.steps.size(); ++i) {
        step& bn = plan.steps[i];
        step& dense = plan.steps[i + 1];
        if (!layers::foldable(bn, dense) || steps_reading(plan, bn.out) != 1) continue;
        bn.folded_into = i + 1;
        dense.applies_bn_of = i;
        bn.why = fmt::format(
            "batch statistics and xhat only: gamma and beta are applied by {} (folded into its "
            "kernel and bias)",
            dense.layer->name);
        dense.why += fmt::format(
            "; reads {0}'s xhat with gamma and beta folded in, and gives {0}'s gradients from its "
            "own (no dy pass over [N, {1}])",
            bn.layer->name, bn.layer->as<batch_norm_parameters>()->features);
        plan.notes.push_back(
            fmt::format("{} folded into {}: its output gradient is never formed", bn.layer->name, dense.layer->name));
    }
}

// In inference, a batch_norm that only reads a linear Conv2D's output becomes that Conv2D's kernel and bias.
void fold_bn_into_conv_for_inference(model_plan& plan) {
    for (std::size_t i = 0; i + 1 < plan.steps.size(); ++i) {
        step& conv = plan.steps[i];
        step& bn = plan.steps[i + 1];
        if (!layers::foldable_for_inference(conv, bn) || steps_reading(plan, conv.out) != 1) continue;
        conv.infer_applies_bn_of = i + 1;
        bn.infer_folded = true;
        plan.notes.push_back(
            fmt::format("{} folded into {} for inference: one convolution with a scaled kernel and bias",
                        bn.layer->name, conv.layer->name));
    }
}

// In training, a batch_norm that reads a linear Conv2D's output takes its chunk statistics from that Conv2D's forward,
// each output row's while it is in L1, instead of a pass over the chunk's feature map.
void bn_moments_in_conv_epilogue(model_plan& plan) {
    for (std::size_t i = 0; i + 1 < plan.steps.size(); ++i) {
        step& conv = plan.steps[i];
        step& bn = plan.steps[i + 1];
        if (!layers::moments_in_conv_epilogue(conv, bn)) continue;
        conv.gives_bn_moments_of = i + 1;
        bn.bn_moments_by = i;
        plan.notes.push_back(
            fmt::format("{}'s chunk statistics taken by {}'s forward (training)", bn.layer->name, conv.layer->name));
    }
}

// In training, a batch_norm whose output only a Conv2D or a MaxPooling2D reads is applied by that layer as it reads
// its input (the Conv2D as it copies it into its band, the pool as it compares): the BN's output map is never stored
// (nor read back), and the BN's backward recomputes it from the BN's input.
void bn_applied_by_next_layer(model_plan& plan) {
    for (std::size_t i = 0; i + 1 < plan.steps.size(); ++i) {
        step& bn = plan.steps[i];
        step& next = plan.steps[i + 1];
        const bool applies = layers::applied_by_next_conv(bn, next) || layers::applied_by_next_max_pool(bn, next);
        if (!applies || steps_reading(plan, bn.out) != 1) continue;
        bn.bn_applied_by = i + 1;
        next.applies_bn_input_of = i;
        plan.notes.push_back(
            fmt::format("{} applied by {} as it reads its input (training): {}'s output is never stored; its backward "
                        "recomputes it",
                        bn.layer->name, next.layer->name, bn.layer->name));
    }
}

// Multiply-adds of one sample's forward pass through the layers with kernels (dense: in x units; conv2d: the kernel's
// size at every output position); the layers without are memory-bound and much lighter.
double forward_multiply_adds(const std::vector<layer_description>& layers) {
    double total = 0;
    for (const auto& layer : layers) {
        if (layer.as<dense_parameters>() != nullptr) total += static_cast<double>(layer.in_size * layer.out_size);
        if (const auto* conv = layer.as<conv2d_parameters>()) {
            const auto& g = conv->window;
            total += static_cast<double>(layer.out_size * g.window_h * g.window_w * g.channels);
        }
    }
    return total;
}

// A sample of more than a million multiply-adds (a convolutional network) is chunked by 8: a chunk is then still
// tens of milliseconds of work, far above a phase's start, and a batch of 32 makes four chunks. Lighter models keep
// 64 rows (their bits, measured and pinned, depend on it).
void choose_chunk_rows(const std::vector<layer_description>& layers, model_plan& plan) {
    constexpr double heavy_sample = 1e6;
    constexpr std::size_t heavy_chunk_rows = 8;
    const double work = forward_multiply_adds(layers);
    if (work > heavy_sample) {
        plan.chunk_rows = heavy_chunk_rows;
        plan.chunk_reason = fmt::format(
            "{:.1f} million multiply-adds a sample forward: {} rows a chunk, so that a batch "
            "of 32 gives every thread chunks",
            work / 1e6, heavy_chunk_rows);
    } else {
        plan.chunk_reason = "the runtime's default";
    }
}

void plan_tables(const std::vector<layer_description>& layers, model_plan& plan) {
    for (const auto& layer : layers) {
        for (const auto& variable : layer.variables) {
            variable_entry entry{
                .keras_name = variable.name, .value = plan_builder::variable_storage(variable), .init = variable.init};
            if (variable.trainable) entry.gradient = plan_builder::gradient_of(entry.value);
            entry.scalar = variable.dims.empty();
            if (variable.init == initializer::glorot_uniform) {  // rank 2 or a (kh, kw, in, out) Conv2D kernel
                // Keras's fans: a kernel's last two dims, times its receptive field for a convolution.
                std::size_t receptive_field = 1;
                for (std::size_t d = 0; d + 2 < variable.dims.size(); ++d) receptive_field *= variable.dims[d];
                entry.fan_in = receptive_field * variable.dims[variable.dims.size() - 2];
                entry.fan_out = receptive_field * variable.dims.back();
            }
            if (variable.dims.size() > 2) entry.dims = variable.dims;
            plan.variables.push_back(std::move(entry));
        }
        if (layer.as<normalization_parameters>() != nullptr) plan.normalization = &layer;
        if (layer.as<batch_norm_parameters>() != nullptr) {
            plan.bn_layers.push_back({&layer, plan_builder::variable(layer, "moving_mean"),
                                      plan_builder::variable(layer, "moving_variance")});
        }
    }
}

}  // namespace

model_plan make_plan(const std::vector<layer_description>& layers, const plan_options& options) {
    return make_plan(layers, default_loss(), options);
}

model_plan make_plan(const std::vector<layer_description>& layers, const loss_description& loss,
                     const plan_options& options) {
    if (layers.empty()) throw plan_error("the model has no layers");
    model_plan plan;
    plan.loss = loss;
    plan.input_size = layers.front().in_size;
    plan.buffers.push_back({{"x", extent::caller, plan.input_size, "the batch, the caller's"},
                            {"grad_x", extent::caller, plan.input_size, "never formed"}});
    const layer_description& last = layers.back();
    visit_loss(loss, [&](const auto& p) { losses::check_last_layer(p, last); });
    plan.outputs = last.out_size;
    plan.steps = plan_steps(layers, plan);
    if (plan.output == 0) throw plan_error("the model has no layer with weights before its loss");
    if (plan.buffers[plan.output].activations.floats != plan.outputs) {
        throw plan_error("internal: the buffer the loss reads does not match the model's output size");
    }
    visit_loss(loss, [&](const auto& p) { losses::rewrite_output_step(p, plan.steps.back()); });
    for (const step& s : plan.steps) {
        if (s.activation == activation_kind::softmax) {
            throw plan_error(fmt::format("internal: no kernel applies the softmax of '{}'", s.layer->name));
        }
    }
    plan.targets = visit_loss(loss, [&](const auto& p) { return losses::targets(p, plan); });
    if (options.fold_bn_into_dense) fold_bn_into_dense(plan);
    if (options.fold_bn_into_conv_for_inference) fold_bn_into_conv_for_inference(plan);
    if (options.bn_moments_in_conv_epilogue) bn_moments_in_conv_epilogue(plan);
    if (options.bn_applied_by_next_layer) bn_applied_by_next_layer(plan);
    plan_tables(layers, plan);
    choose_chunk_rows(layers, plan);

    plan_builder b(plan);
    for (std::size_t i = 0; i < plan.steps.size(); ++i) {
        b.planning(i);
        visit_kind(*plan.steps[i].layer, [&](const auto& p) { layers::plan_training(p, plan.steps[i], b); });
    }
    const std::vector<statement> loss_statements =
        visit_loss(loss, [&](const auto& p) { return losses::plan_loss(p, b); });
    for (const step& s : plan.steps) visit_kind(*s.layer, [&](const auto& p) { layers::plan_inference(p, s, b); });
    plan.evaluate = {visit_loss(loss, [&](const auto& p) { return losses::plan_evaluation(p, b); })};
    plan.predict = {visit_loss(loss, [&](const auto& p) { return losses::plan_prediction(p, b); })};

    plan.forward_train = b.forward_statements();
    plan.train_batch = b.forward_statements();
    plan.train_batch.insert(plan.train_batch.end(), loss_statements.begin(), loss_statements.end());
    plan.train_batch.insert(plan.train_batch.end(), b.backward_statements().begin(), b.backward_statements().end());
    plan.forward_infer = b.infer_statements();
    plan_pixel_batch(plan);
    plan.over_processes_refusal = over_processes_refusal(plan);
    plan.trains_over_processes = plan.over_processes_refusal.empty();
    keep_called_kernels(plan);
    derive_storage(plan);
    return plan;
}

}  // namespace nnfuse::codegen
