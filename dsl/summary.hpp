// nnfuse::summary(model), nnfuse::variables_listing(model, layer): what Keras prints for a model.
//
// summary() is the classic Keras (2.x, <= 2.6) Sequential layout, byte for byte: 65 columns with
// column stops at 29/55/65, each field cut one short of its stop, rows padded with spaces to 65,
// `_` rules between rows, `=` rules around them, thousands separators in the totals.
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

// Keras's print_row: each field starts where the previous stop ends, is cut at its own stop, and
// the last character before the next field is a space.
inline std::string keras_row(std::string_view a, std::string_view b, std::string_view c) {
    std::string line;
    const std::string_view fields[3] = {a, b, c};
    for (std::size_t i = 0; i < 3; ++i) {
        if (i > 0) line.back() = ' ';
        line.append(fields[i]);
        line.resize(summary_stops[i], ' ');
    }
    return line + '\n';
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

}  // namespace detail

template <class Model>
std::string summary(const Model& model) {
    using detail::keras_row;
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
    out += "Total params: " + detail::with_thousands(Model::total_params) + '\n';
    out += "Trainable params: " + detail::with_thousands(Model::trainable_params) + '\n';
    out += "Non-trainable params: " + detail::with_thousands(Model::non_trainable_params) + '\n';
    out += thin + '\n';
    return out;
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
