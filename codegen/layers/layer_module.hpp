// nnfuse::codegen::layer_module: what the generator's module for one layer kind provides.
//
// Each alternative P of layer_parameters (model_description.hpp) has a module codegen/layers/<kind>.{hpp,cpp}
// whose functions, found by overload on P, say:
//   bool makes_step(const P&)                  false for a reshape (no kernel, the next step reads the same memory)
//   std::optional<activation_kind> element_wise_activation(const P&)
//                                              an activation that may run inside the previous step's kernel
//   bool absorbs_activation(const P&)          whether its step can apply a following activation in its kernel
//   bool passes_gradient_back(const P&)        false: nothing before the step trains, so the step after it forms no
//                                              input gradient (normalization)
//   void init_step(const P&, step&)         the step's activation and the manifest's reason for it
//   void plan_training(const P&, const step&, plan_builder&)
//                                              its training statements (forward and backward), kernels, storage
//   void plan_inference(const P&, const step&, plan_builder&)
//                                              its statements of forward_infer (one piece of rows)
//   std::string hyper_parameters(const P&)     " units=20 activation=elu ..." for Net::architecture()
// Fusions across kinds are separate rewrites (bn_dense_fold.hpp).
#pragma once

#include <concepts>
#include <optional>
#include <string>

#include "codegen/layers/activation.hpp"
#include "codegen/layers/add.hpp"
#include "codegen/layers/batch_norm.hpp"
#include "codegen/layers/conv2d.hpp"
#include "codegen/layers/dense.hpp"
#include "codegen/layers/dropout.hpp"
#include "codegen/layers/flatten.hpp"
#include "codegen/layers/global_average_pool2d.hpp"
#include "codegen/layers/normalization.hpp"
#include "codegen/layers/plan_builder.hpp"
#include "codegen/layers/pool2d.hpp"
#include "codegen/layers/reshape.hpp"

namespace nnfuse::codegen {

template <class P>
concept layer_module = requires(const P& p, const step& s, step& ms, plan_builder& b) {
    { layers::makes_step(p) } -> std::same_as<bool>;
    { layers::element_wise_activation(p) } -> std::same_as<std::optional<activation_kind>>;
    { layers::absorbs_activation(p) } -> std::same_as<bool>;
    { layers::passes_gradient_back(p) } -> std::same_as<bool>;
    layers::init_step(p, ms);
    layers::plan_training(p, s, b);
    layers::plan_inference(p, s, b);
    { layers::hyper_parameters(p) } -> std::convertible_to<std::string>;
};

template <class Variant>
inline constexpr bool every_kind_has_a_module = false;
template <class... P>
inline constexpr bool every_kind_has_a_module<std::variant<P...>> = (layer_module<P> && ...);
static_assert(every_kind_has_a_module<layer_parameters>, "each layer kind needs a module in codegen/layers/");

}  // namespace nnfuse::codegen
