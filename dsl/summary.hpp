// nnfuse::summary(model), nnfuse::variables_listing(model, layer): what Keras prints for a model.
//
// summary() is classic Keras's (2.x, <= 2.6) print_summary, byte for byte. For a chain (Model::is_chain) it is the
// Sequential layout: 65 columns with column stops at 29/55/65, each field cut one short of its stop, rows padded
// with spaces to 65, `_` rules between rows, `=` rules around them, thousands separators in the totals.
// For a model with a residual block, Keras builds a functional Model (named "model"), and prints the functional
// layout: 98 columns, stops 32/53/65/98 (Keras's positions .33/.55/.67/1.0 of 98) and a fourth column "Connected
// to"; the first row is the input layer, "input_1 (InputLayer)" with output shape "[(None, ...)]" (TF 2.x prints an
// InputLayer's shape as a list), and each layer's inputs are "name[0][0]", the first on the layer's row, the next on
// rows of their own with the other fields empty (an Add's second input).
// variables_listing() prints one line per variable: "name shape trainable", as
// `for v in layer.variables: print(v.name, v.shape, v.trainable)` would in Python.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "dsl/sequential.hpp"

namespace nnfuse {

namespace detail {

inline constexpr std::size_t summary_width = 65;
inline constexpr std::size_t summary_stops[3] = {29, 55, 65};  // Keras: positions [.45, .85, 1.0] of 65
inline constexpr std::size_t functional_width = 98;
inline constexpr std::size_t functional_stops[4] = {32, 53, 65, 98};  // Keras: int(98 * [.33, .55, .67, 1.0])

// Keras's print_row: each field starts where the previous stop ends, is cut at its own stop, and
// the last character before the next field is a space.
template <std::size_t N>
std::string keras_row(const std::string_view (&fields)[N], const std::size_t (&stops)[N]) {
    std::string line;
    for (std::size_t i = 0; i < N; ++i) {
        if (i > 0) line.back() = ' ';
        line.append(fields[i]);
        line.resize(stops[i], ' ');
    }
    return line + '\n';
}
inline std::string keras_row(std::string_view a, std::string_view b, std::string_view c) {
    return keras_row({a, b, c}, summary_stops);
}
inline std::string keras_row(std::string_view a, std::string_view b, std::string_view c, std::string_view d) {
    return keras_row({a, b, c, d}, functional_stops);
}

inline std::string with_thousands(std::size_t value) {
    // Built front to back rather than by insert(), which trips GCC 12's -Wrestrict false positive.
    const std::string digits = std::to_string(value);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

// The name of the layer at `index` in a functional summary's "Connected to": "input_1" for the model's input.
template <class Model>
std::string layer_name(std::size_t index) {
    std::string name = "input_1";
    for_each_layer(Model{}, [&](auto placed) {
        if (decltype(placed)::index == index) name = std::string(decltype(placed)::name.view());
    });
    return name;
}

inline std::string totals(std::size_t total, std::size_t trainable, std::size_t non_trainable) {
    return "Total params: " + with_thousands(total) + "\nTrainable params: " + with_thousands(trainable) +
           "\nNon-trainable params: " + with_thousands(non_trainable) + '\n';
}

// Keras's functional print_summary (the input layer first, a "Connected to" column).
template <class Model>
std::string functional_summary(const Model& model) {
    const std::string thin(functional_width, '_'), thick(functional_width, '=');
    std::string out = "Model: \"" + std::string(Model::name) + "\"\n";
    out += thin + '\n';
    out += keras_row("Layer (type)", "Output Shape", "Param #", "Connected to");
    out += thick + '\n';
    const std::string input_shape = "[" + std::string(Model::input_shape::keras_text().view()) + "]";
    out += keras_row("input_1 (InputLayer)", input_shape, "0", "");
    out += thin + '\n';
    for_each_layer(model, [&](auto placed) {
        using P = decltype(placed);
        std::string label = std::string(P::name.view()) + " (" + std::string(P::layer_type::keras_class) + ")";
        for (std::size_t k = 0; k < P::inputs.size(); ++k) {
            const std::string connection = layer_name<Model>(P::inputs[k]) + "[0][0]";
            if (k == 0) {
                out += keras_row(label, P::output_shape::keras_text().view(), std::to_string(P::params), connection);
            } else {
                out += keras_row("", "", "", connection);
            }
        }
        out += (P::index + 1 == Model::layer_count ? thick : thin) + '\n';
    });
    return out + totals(Model::total_params, Model::trainable_params, Model::non_trainable_params) + thin + '\n';
}

}  // namespace detail

template <class Model>
std::string summary(const Model& model) {
    using detail::keras_row;
    if constexpr (!Model::is_chain) return detail::functional_summary(model);  // Keras's functional Model
    const std::string thin(detail::summary_width, '_'), thick(detail::summary_width, '=');
    std::string out = "Model: \"" + std::string(Model::name) + "\"\n";
    out += thin + '\n';
    out += keras_row("Layer (type)", "Output Shape", "Param #");
    out += thick + '\n';
    for_each_layer(model, [&](auto placed) {
        using P = decltype(placed);
        std::string label = std::string(P::name.view()) + " (" + std::string(P::layer_type::keras_class) + ")";
        out += keras_row(label, P::output_shape::keras_text().view(), std::to_string(P::params));
        out += (P::index + 1 == Model::layer_count ? thick : thin) + '\n';
    });
    return out + detail::totals(Model::total_params, Model::trainable_params, Model::non_trainable_params) + thin +
           '\n';
}

// Lines "batch_normalization/gamma:0 (784,) True" for the variables of the layer named `layer`;
// empty when no layer has that name.
template <class Model>
std::string variables_listing(const Model& model, std::string_view layer) {
    std::string out;
    for_each_layer(model, [&](auto placed) {
        using P = decltype(placed);
        if (P::name.view() != layer) return;
        for (const auto& v : P::variables) {
            out += std::string(v.name.view()) + ' ' + std::string(v.shape_text().view()) + ' ' +
                   (v.trainable ? "True" : "False") + '\n';
        }
    });
    return out;
}

}  // namespace nnfuse
