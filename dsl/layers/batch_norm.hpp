// nnfuse::batch_norm<options>(): batch normalization over the last axis (Keras BatchNormalization).
//
// Per feature c over the m values of a batch: y = gamma * (x - mean) / sqrt(var + epsilon) + beta.
// The features are the last axis (Keras axis=-1): on an NHWC (h, w, c) sample, the channels, each normalized over
// the N*h*w values of a batch, with 4*c variables (2*c trainable) as Keras's BatchNormalization(axis=-1).
// Variables, in Keras's order: gamma (if scale), beta (if center), moving_mean, moving_variance.
// Profiles fix the defaults and the moving-statistics rule (docs/design.md, "Batch normalization semantics"):
//   keras: momentum 0.99, moving = moving*momentum + batch*(1-momentum), biased variance, eps 1e-3
//   torch: momentum 0.1,  running = (1-momentum)*running + momentum*batch, unbiased variance, eps 1e-5
//          .cumulative_average = true is torch's momentum=None (a plain average of all batches).
// requires: epsilon > 0; keras momentum in [0, 1); torch momentum in (0, 1] (static_asserts).
// A layer with .trainable = false is frozen: gamma and beta are not trained and it normalizes
// with its moving statistics even while the model trains (the Keras 2 rule).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "dsl/shape.hpp"
#include "dsl/variable.hpp"

namespace nnfuse {

enum class bn_profile { keras, torch };

constexpr std::string_view to_string(bn_profile profile) { return profile == bn_profile::keras ? "keras" : "torch"; }

// A double that may be left unset, so that "not given" can mean "the profile's default".
struct optional_double {
    bool has_value = false;
    double value = 0.0;
    constexpr optional_double() = default;
    constexpr optional_double(double v) : has_value(true), value(v) {}
};

struct bn_options {
    bn_profile profile = bn_profile::keras;
    optional_double momentum{};
    optional_double epsilon{};
    bool cumulative_average = false;
    bool center = true;
    bool scale = true;
    bool trainable = true;
};

// batch_norm<torch_bn>() reads like PyTorch's BatchNorm1d defaults.
inline constexpr bn_options torch_bn{.profile = bn_profile::torch};

template <bn_options Options>
struct batch_norm_layer {
    static constexpr bn_options options = Options;
    static constexpr bn_profile profile = Options.profile;
    static constexpr bool is_keras = Options.profile == bn_profile::keras;
    static constexpr double momentum = Options.momentum.has_value ? Options.momentum.value : (is_keras ? 0.99 : 0.1);
    static constexpr double epsilon = Options.epsilon.has_value ? Options.epsilon.value : (is_keras ? 1e-3 : 1e-5);
    static constexpr bool cumulative_average = Options.cumulative_average;
    static constexpr bool center = Options.center;
    static constexpr bool scale = Options.scale;
    static constexpr bool trainable = Options.trainable;

    static_assert(epsilon > 0.0, "nnfuse::batch_norm: epsilon must be > 0");
    static_assert(
        !is_keras || (momentum >= 0.0 && momentum < 1.0),
        "nnfuse::batch_norm: momentum must be in [0, 1) (Keras profile: the share of the moving average kept)");
    static_assert(
        is_keras || (momentum > 0.0 && momentum <= 1.0),
        "nnfuse::batch_norm: torch-profile momentum must be in (0, 1] (the share of the batch statistic taken)");
    static_assert(!cumulative_average || !is_keras,
                  "nnfuse::batch_norm: cumulative_average is the torch profile's momentum=None; set .profile = torch");
    static_assert(!cumulative_average || !Options.momentum.has_value,
                  "nnfuse::batch_norm: give either momentum or cumulative_average, not both");

    static constexpr std::string_view keras_class = "BatchNormalization";
    static constexpr std::string_view keras_base_name = "batch_normalization";

    template <class In>
    struct output {
        using type = In;
    };

    template <class In>
    static constexpr auto variables(const fixed_string& layer) {
        constexpr std::size_t affine = std::size_t{center} + std::size_t{scale};
        constexpr std::size_t c = In::features;
        std::array<variable_info, affine + 2> vars{};
        std::size_t i = 0;
        if constexpr (scale) vars[i++] = make_variable(layer, "gamma", {c, 0}, 1, trainable, initializer::ones);
        if constexpr (center) vars[i++] = make_variable(layer, "beta", {c, 0}, 1, trainable, initializer::zeros);
        vars[i++] = make_variable(layer, "moving_mean", {c, 0}, 1, false, initializer::zeros);
        vars[i++] = make_variable(layer, "moving_variance", {c, 0}, 1, false, initializer::ones);
        return vars;
    }
};

template <bn_options Options = bn_options{}>
constexpr batch_norm_layer<Options> batch_norm() {
    return {};
}

}  // namespace nnfuse
