// A dropout layer (Keras's Dropout(rate)). Training: inverted dropout chunk by chunk into its own buffer (the
// previous step's output stays intact: its activation's derivative is taken from it in backward); the mask is a
// function of the Net's random_state (seed, step), the row's index in the whole batch (the chunk's first row plus
// the row in the chunk) and the value's index, so backward recomputes it instead of storing it, and no thread count
// or chunking changes it. The step advances once, after the whole backward. Inference: the identity, no statement:
// the next step reads the dropout's input (an alias), except when the dropout's output is the logits, which the
// loss and forward_infer name: then a copy.
#include "codegen/layers/dropout.hpp"

#include <fmt/core.h>

namespace nnfuse::codegen::layers {

namespace {

// The rate as a C++ literal that reads back as the same double (fmt prints the shortest such text).
argument rate_of(const dropout_parameters& layer) { return value(fmt::format("{}", layer.rate)); }

std::size_t mask_kernel(const step& s, plan_builder& b, bool backward) {
    const std::size_t n = s.layer->out_size;
    return b.add_kernel({fmt::format("dropout_{}_f32_n{}", backward ? "bwd" : "fwd", n),
                         backward ? &signatures::dropout_backward : &signatures::dropout_forward,
                         {{std::to_string(n)}},
                         backward ? fmt::format("dy [N, {}] -> dx", n) : fmt::format("[N, {}]", n),
                         covers_of(s),
                         backward ? "the forward's mask, recomputed from (seed, step, row, value)"
                                  : "inverted dropout (the rate an argument): the kept values times 1/(1 - rate), the "
                                    "mask from (seed, step, row, value)"});
}

}  // namespace

bool makes_step(const dropout_parameters&) { return true; }
std::optional<activation_kind> element_wise_activation(const dropout_parameters&) { return std::nullopt; }
bool absorbs_activation(const dropout_parameters&) { return false; }
bool passes_gradient_back(const dropout_parameters&) { return true; }
void init_step(const dropout_parameters& layer, step& s) {
    s.activation = activation_kind::linear;
    s.why = fmt::format(
        "inverted dropout, rate {}: the kept values times 1/(1 - rate), the mask from (seed, step, row, value)",
        layer.rate);
}

void plan_training(const dropout_parameters& layer, const step& s, plan_builder& b) {
    const std::size_t n = s.layer->out_size;
    const std::string& name = s.layer->name;
    b.plan().draws_random_numbers = true;
    b.forward({.id = name + ".forward",
               .when = phase::per_chunk,
               .comment = covers_of(s) + ": " + s.why,
               .action = b.kernel_call(mask_kernel(s, b, false),
                                       {rows_of(b.buffer(s.in), n), row_count(), value("begin"), rate_of(layer),
                                        value("random_.seed"), value("random_.step"), rows_of(b.buffer(s.out), n)})});
    if (s.needs_input_grad) {
        b.backward(
            {{.id = name + ".backward",
              .when = phase::per_chunk,
              .comment = covers_of(s),
              .action = b.kernel_call(mask_kernel(s, b, true),
                                      {rows_of(b.gradient(s.out), n), row_count(), value("begin"), rate_of(layer),
                                       value("random_.seed"), value("random_.step"), rows_of(b.gradient(s.in), n)})}});
    }
    b.after_backward({.id = "random.advance",
                      .when = phase::whole_batch,
                      .comment = "the next training step draws other masks",
                      .action = plan_builder::function_call(signatures::advance_random_step, {value("random_")})});
}

void plan_inference(const dropout_parameters&, const step& s, plan_builder& b) {
    if (s.out != b.plan().output) {
        b.infer_alias(s.out, s.in);
        b.plan().notes.push_back(
            fmt::format("{}: the identity in inference, no kernel: the next step reads its input", s.layer->name));
        return;
    }
    const std::size_t n = s.layer->out_size;
    const std::size_t copy = b.add_kernel({fmt::format("dropout_infer_f32_n{}", n),
                                           &signatures::dropout_infer,
                                           {{std::to_string(n)}},
                                           fmt::format("[N, {}]", n),
                                           covers_of(s),
                                           "the identity, copied: the logits' storage is the dropout's output"});
    b.infer({.id = s.layer->name + ".infer",
             .when = phase::per_chunk,
             .comment = covers_of(s),
             .action = b.kernel_call(copy, {rows_of(b.buffer(s.in), n), row_count(), rows_of(b.buffer(s.out), n)})});
}

std::string hyper_parameters(const dropout_parameters& layer) { return fmt::format(" rate={}", layer.rate); }

}  // namespace nnfuse::codegen::layers
