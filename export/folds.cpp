// The exporter's folds (operations.hpp): an operation merged into the one that reads it, in double.
#include <algorithm>
#include <cstddef>

#include <fmt/core.h>

#include "export/operations.hpp"

namespace nnfuse::exporter {

namespace {

bool linear_scale_shift(const op& o) {
    return o.kind == op_kind::scale_shift && o.activation == activation_kind::linear;
}

// How many operations read op `id`'s output (the model's output, the last op's, counts as a reader).
std::size_t readers(const std::vector<op>& ops, std::size_t id) {
    std::size_t count = ops.back().id == id ? 1 : 0;
    for (const auto& o : ops) count += static_cast<std::size_t>(std::count(o.inputs.begin(), o.inputs.end(), id));
    return count;
}

// Whether a window ever reaches past the input's edges (same padding that adds zeros).
bool padded(const kernels::window_geometry& g) {
    return g.same_padding && ((g.out_height() - 1) * g.stride_h + g.window_h > g.height ||
                              (g.out_width() - 1) * g.stride_w + g.window_w > g.width);
}

bool all_zero(const std::vector<double>& values) {
    return std::all_of(values.begin(), values.end(), [](double v) { return v == 0.0; });
}

// affine or conv2d `a` (no activation) -> scale/shift `b` over its outputs or filters: y = (x.K + bias) * s + t, so
// K's column j and bias[j] are scaled by s[j], plus t[j]. For a Conv2D this is the Net's inference fold
// (runtime/kernels/bn_conv_fold.hpp): kernel x s per filter, bias' = (bias - moving_mean) s + beta.
bool fold_scale_shift_into_columns(op& a, const op& b, std::vector<std::string>& folded) {
    const std::size_t columns = a.kind == op_kind::conv2d ? a.filters : a.out;
    if ((a.kind != op_kind::affine && a.kind != op_kind::conv2d) || a.activation != activation_kind::linear ||
        b.kind != op_kind::scale_shift || b.features != columns) {
        return false;
    }
    for (std::size_t i = 0; i < a.kernel.size(); ++i) a.kernel[i] *= b.scale[i % columns];
    for (std::size_t j = 0; j < columns; ++j) a.bias[j] = a.bias[j] * b.scale[j] + b.shift[j];
    a.activation = b.activation;
    folded.push_back(fmt::format("{} into the {} and bias of {}{}", b.covers.front(),
                                 a.kind == op_kind::conv2d ? "filters" : "columns", join(a.covers),
                                 b.activation == activation_kind::linear
                                     ? std::string()
                                     : fmt::format(", which then applies {}", keras_name(b.activation))));
    a.covers.insert(a.covers.end(), b.covers.begin(), b.covers.end());
    return true;
}

// scale/shift `a` (no activation) -> affine or conv2d `b`: (x * s + t).K + bias = x.(s (.) K) + (bias + t.K), K's
// row i scaled by s[channel of i]. A Conv2D takes a shift only if no window reaches into its zero padding (a padded
// zero would become t).
bool fold_scale_shift_into_rows(const op& a, op& b, std::vector<std::string>& folded) {
    if (!linear_scale_shift(a)) return false;
    std::size_t channels = 0, columns = 0;
    if (b.kind == op_kind::affine && b.in % a.features == 0) {
        channels = b.in;
        columns = b.out;
    } else if (b.kind == op_kind::conv2d && (a.features == 1 || a.features == b.window.channels) &&
               (!padded(b.window) || all_zero(a.shift))) {
        channels = b.window.channels;
        columns = b.filters;
    } else {
        return false;
    }
    // Row r of the kernel reads input channel r % channels (Keras's HWIO for a Conv2D), which BN's feature
    // (r % channels) % features scales.
    const auto feature = [&](std::size_t row) { return (row % channels) % a.features; };
    const std::size_t rows = b.kernel.size() / columns;
    for (std::size_t j = 0; j < columns; ++j) {
        double sum = 0.0;
        for (std::size_t r = 0; r < rows; ++r) sum += a.shift[feature(r)] * b.kernel[r * columns + j];
        b.bias[j] += sum;
    }
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < columns; ++j) b.kernel[r * columns + j] *= a.scale[feature(r)];
    folded.push_back(
        fmt::format("{} into the {} of {}", join(a.covers),
                    b.kind == op_kind::conv2d ? (all_zero(a.shift) ? "kernel" : "kernel and bias") : "rows and bias",
                    join(b.covers)));
    b.covers.insert(b.covers.begin(), a.covers.begin(), a.covers.end());
    return true;
}

// Two scale/shifts (the input scale, a feature-wise scale of 1): s = sa * sb, t = ta * sb + tb.
bool fold_scale_shifts(const op& a, op& b, std::vector<std::string>& folded) {
    if (!linear_scale_shift(a) || b.kind != op_kind::scale_shift ||
        !(a.features == 1 || (a.features == b.features && a.in == b.in))) {
        return false;
    }
    for (std::size_t c = 0; c < b.features; ++c) {
        const std::size_t ca = a.features == 1 ? 0 : c;
        b.shift[c] += a.shift[ca] * b.scale[c];
        b.scale[c] *= a.scale[ca];
    }
    folded.push_back(fmt::format("{} into {}", join(a.covers), join(b.covers)));
    b.covers.insert(b.covers.begin(), a.covers.begin(), a.covers.end());
    b.name = a.name;
    return true;
}

}  // namespace

std::string join(const std::vector<std::string>& names) {
    std::string text;
    for (std::size_t i = 0; i < names.size(); ++i) text += (i ? " + " : "") + names[i];
    return text;
}

// Folds until nothing folds; each fold removes one operation and says what it did in `folded`. Only an op that its
// successor alone reads folds; the merged op takes the reader's id (what reads it is unchanged) and the first one's
// inputs.
void fold(std::vector<op>& ops, std::vector<std::string>& folded) {
    for (bool changed = true; changed;) {
        changed = false;
        for (std::size_t k = 0; k + 1 < ops.size() && !changed; ++k) {
            op a = ops[k], b = ops[k + 1];
            if (b.inputs != std::vector<std::size_t>{a.id} || readers(ops, a.id) != 1) continue;
            op merged;
            if (fold_scale_shift_into_columns(a, b, folded)) {
                merged = a;
            } else if (fold_scale_shift_into_rows(a, b, folded) || fold_scale_shifts(a, b, folded)) {
                merged = b;
            } else {
                continue;
            }
            merged.id = ops[k + 1].id;
            merged.inputs = ops[k].inputs;
            ops[k] = merged;
            ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(k) + 1);
            changed = true;
        }
    }
}

}  // namespace nnfuse::exporter
