// nnfuse::codegen::loss_module: what the generator's module for one loss provides.
//
// Each alternative P of loss_parameters (loss_description.hpp) has a module codegen/losses/<loss>.{hpp,cpp}
// whose functions, found by overload on P, say:
//   void check_last_layer(const P&, const layer_description& last)
//                                   throws plan_error when the loss cannot train a model ending in `last` (the DSL
//                                   checks the same at compile time; a plan can be made from any description)
//   std::optional<activation_kind> fused_activation(const P&)
//                                   the last layer's activation the loss applies itself (no step computes it)
//   void rewrite_output_step(const P&, step& s)
//                                   the step whose output the loss reads, once the steps are made: e.g. a dense
//                                   layer's softmax moved into the loss
//   targets_binding targets(const P&, const model_plan&)
//                                   which pointer of batch_targets the loss reads, under which name
//   std::vector<statement> plan_loss(const P&, plan_builder&)
//                                   train_batch's loss statements (per chunk: each chunk's loss and metric into
//                                   chunk_results_[chunk], the output's gradient); sets plan.loss_kernel
//   statement plan_evaluation(const P&, plan_builder&)
//                                   evaluate_batch's: the loss and metric of `output` into `result`, no gradient
//   statement plan_prediction(const P&, plan_builder&)
//                                   predict_batch's: `predictions` from `output`
#pragma once

#include <concepts>
#include <optional>
#include <variant>
#include <vector>

#include "codegen/layers/plan_builder.hpp"
#include "codegen/losses/binary_crossentropy.hpp"
#include "codegen/losses/categorical_crossentropy.hpp"
#include "codegen/losses/huber.hpp"
#include "codegen/losses/mean_absolute_error.hpp"
#include "codegen/losses/mean_squared_error.hpp"
#include "codegen/losses/sparse_categorical_crossentropy.hpp"

namespace nnfuse::codegen {

template <class P>
concept loss_module = requires(const P& p, const layer_description& last, step& s, const model_plan& plan,
                               plan_builder& b) {
    losses::check_last_layer(p, last);
    { losses::fused_activation(p) } -> std::same_as<std::optional<activation_kind>>;
    losses::rewrite_output_step(p, s);
    { losses::targets(p, plan) } -> std::same_as<targets_binding>;
    { losses::plan_loss(p, b) } -> std::same_as<std::vector<statement>>;
    { losses::plan_evaluation(p, b) } -> std::same_as<statement>;
    { losses::plan_prediction(p, b) } -> std::same_as<statement>;
};

template <class Variant>
inline constexpr bool every_loss_has_a_module = false;
template <class... P>
inline constexpr bool every_loss_has_a_module<std::variant<P...>> = (loss_module<P> && ...);
static_assert(every_loss_has_a_module<loss_parameters>, "each loss needs a module in codegen/losses/");

}  // namespace nnfuse::codegen
