// Keras's Add after a residual block: y = block(x) + x, chunk by chunk (runtime/kernels/add-inl.h).
// Backward: dy is the gradient of both operands. The block's output shares the Add's gradient storage (plan.cpp), so
// its last step reads dy directly. x's gradient is the block's first step's dx plus dy: that step writes dx into x's
// gradient, and the statement planned here adds dy into it in place, after the backward statements of every step
// after x's producer, before that producer's (per chunk: the same rows, no whole-batch pass; a float sum of two
// values: the same bits for any thread count). A second residual around the same x (nested blocks) adds its dy after
// the first one's sum. A block whose last step applies an activation (dense, conv2d) scales its dy in place: it gets
// a per-chunk copy of dy instead of sharing the Add's storage.
#include "codegen/layers/add.hpp"

#include <algorithm>

#include <fmt/core.h>

namespace nnfuse::codegen::layers {

namespace {

std::size_t add_kernel(const step& s, plan_builder& b) {
    const std::size_t n = s.layer->out_size;
    return b.add_kernel({fmt::format("add_fwd_f32_n{}", n),
                         &signatures::add_forward,
                         {{std::to_string(n)}},
                         fmt::format("a [N, {0}] + b [N, {0}] -> y", n),
                         s.layer->name,
                         "the residual block's output plus its input; in backward, the sum of the residual input's "
                         "two gradients (in place)"});
}

call forward_call(const step& s, plan_builder& b) {
    const std::size_t n = s.layer->out_size;
    return b.kernel_call(add_kernel(s, b), {rows_of(b.buffer(s.in), n), rows_of(b.buffer(*s.skip_in), n), row_count(),
                                            rows_of(b.buffer(s.out), n)});
}

}  // namespace

bool makes_step(const add_parameters&) { return true; }
std::optional<activation_kind> element_wise_activation(const add_parameters&) { return std::nullopt; }
bool absorbs_activation(const add_parameters&) { return false; }
bool passes_gradient_back(const add_parameters&) { return true; }
void init_step(const add_parameters&, step& s) {
    s.activation = activation_kind::linear;
    s.why = "the residual block's output plus its input";
}

void plan_training(const add_parameters&, const step& s, plan_builder& b) {
    const std::string& name = s.layer->name;
    if (!s.skip_in) throw plan_error(fmt::format("internal: layer '{}' (Add) has no second input", name));
    b.forward({.id = name + ".forward",
               .when = phase::per_chunk,
               .comment = covers_of(s) + ": " + s.why,
               .action = forward_call(s, b)});
    const std::size_t n = s.layer->out_size;
    const storage dy = b.gradient(s.out);
    if (s.needs_input_grad && b.gradient(s.in).name != dy.name) {  // the block's last step scales its dy in place
        b.backward({{.id = name + ".gradient_copy",
                     .when = phase::per_chunk,
                     .comment = fmt::format("{}: dy for its block, which scales it in place", name),
                     .action = plan_builder::function_call(
                         signatures::copy_floats, {rows_of(dy, n), row_count(n), rows_of(b.gradient(s.in), n)})}});
    }
    if (!s.needs_skip_grad) return;
    const auto& steps = b.plan().steps;
    const auto x_writer = std::find_if(steps.begin(), steps.end(), [&](const step& t) { return t.out == *s.skip_in; });
    if (x_writer == steps.end()) throw plan_error(fmt::format("internal: no step writes the input of '{}'", name));
    const storage dx = b.gradient(*s.skip_in);
    b.backward_before_step(
        static_cast<std::size_t>(x_writer - steps.begin()),
        {.id = name + ".gradient_sum",
         .when = phase::per_chunk,
         .comment = fmt::format("{}: the residual input's gradient is the block's plus the Add's", name),
         .action = b.kernel_call(add_kernel(s, b), {rows_of(dx, n), rows_of(dy, n), row_count(), rows_of(dx, n)})});
}

void plan_inference(const add_parameters&, const step& s, plan_builder& b) {
    b.infer({.id = s.layer->name + ".infer",
             .when = phase::per_chunk,
             .comment = covers_of(s),
             .action = forward_call(s, b)});
}

std::string hyper_parameters(const add_parameters&) { return {}; }

}  // namespace nnfuse::codegen::layers
