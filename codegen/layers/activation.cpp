// An activation layer: applied inside the previous step's kernel when that step can (plan.cpp); otherwise a step of
// its own, element-wise, its derivative taken from its output.
#include "codegen/layers/activation.hpp"

#include <fmt/core.h>

namespace nnfuse::codegen::layers {

namespace {

std::size_t forward_kernel(const step& s, plan_builder& b) {
    const std::size_t n = s.layer->out_size;
    return b.add_kernel({fmt::format("act_fwd_f32_n{}{}", n, activation_suffix(s.activation)),
                         &signatures::activation_forward,
                         {{std::to_string(n)}, {activation_enum(s.activation)}},
                         fmt::format("[N, {}]", n),
                         covers_of(s),
                         s.why});
}

}  // namespace

bool makes_step(const activation_parameters&) { return true; }
std::optional<activation_kind> element_wise_activation(const activation_parameters& layer) { return layer.activation; }
bool absorbs_activation(const activation_parameters&) { return false; }
bool passes_gradient_back(const activation_parameters&) { return true; }
void init_step(const activation_parameters& layer, step& s) {
    s.activation = layer.activation;
    s.why = "an activation with no linear step before it to fuse into";
}

void plan_training(const activation_parameters&, const step& s, plan_builder& b) {
    const std::size_t n = s.layer->out_size;
    const std::string& name = s.layer->name;
    const std::size_t fwd = forward_kernel(s, b);
    b.forward({.id = name + ".forward",
               .when = phase::per_chunk,
               .comment = covers_of(s) + ": " + s.why,
               .action = b.kernel_call(fwd, {rows_of(b.buffer(s.in), n), row_count(), rows_of(b.buffer(s.out), n)})});
    if (!s.needs_input_grad) return;
    const std::size_t bwd = b.add_kernel({fmt::format("act_bwd_f32_n{}{}", n, activation_suffix(s.activation)),
                                          &signatures::activation_backward,
                                          {{std::to_string(n)}, {activation_enum(s.activation)}},
                                          fmt::format("[N, {}]", n),
                                          name,
                                          "derivative from the output"});
    b.backward({{.id = name + ".backward",
                 .when = phase::per_chunk,
                 .comment = covers_of(s),
                 .action = b.kernel_call(bwd, {rows_of(b.buffer(s.out), n), rows_of(b.gradient(s.out), n), row_count(),
                                               rows_of(b.gradient(s.in), n)})}});
}

void plan_inference(const activation_parameters&, const step& s, plan_builder& b) {
    const std::size_t n = s.layer->out_size;
    b.infer({.id = s.layer->name + ".infer",
             .when = phase::per_chunk,
             .comment = covers_of(s),
             .action = b.kernel_call(forward_kernel(s, b),
                                     {rows_of(b.buffer(s.in), n), row_count(), rows_of(b.buffer(s.out), n)})});
}

std::string hyper_parameters(const activation_parameters& layer) {
    return fmt::format(" activation={}", keras_name(layer.activation));
}

}  // namespace nnfuse::codegen::layers
