// The exported header's step functions (steps.hpp).
#include "export/steps.hpp"

#include <cstdio>

#include <fmt/core.h>

namespace nnfuse::exporter {

namespace {

// A constant array of floats, 6 literals a line.
std::string array_text(const std::string& name, const std::vector<double>& values) {
    std::string text = fmt::format("alignas(64) inline constexpr float {}[{}] = {{", name, values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        text += (i % 6 == 0 ? "\n    " : " ") + float_literal(values[i]) + ",";
    }
    return text + "\n};\n";
}

std::string activation_call(activation_kind kind, const std::string& value) {
    if (kind == activation_kind::linear) return value;
    return fmt::format("{}({})", keras_name(kind), value);
}

constexpr const char* activation_functions =
    R"(// The activations, as the Net's kernels compute them (runtime/kernels/activation-inl.h; Keras's constants).
template <class T>
inline T relu(T z) { return z > T(0) ? z : T(0); }
template <class T>
inline T elu(T z) { return z > T(0) ? z : std::expm1(z); }
template <class T>
inline T selu(T z) { return T(1.0507009873554805) * (z > T(0) ? z : T(1.6732632423543772) * std::expm1(z)); }
template <class T>
inline T sigmoid(T z) {
    const T e = std::exp(-std::fabs(z));  // never overflows
    const T positive = T(1) / (T(1) + e);
    return z < T(0) ? e * positive : positive;
}
template <class T>
inline T tanh(T z) { return std::tanh(z); }

// Probabilities from logits, stable (subtracts the largest), summed in double like the Net's softmax_rows.
inline void softmax(const float* z, std::size_t n, float* p) {
    float top = z[0];
    for (std::size_t i = 1; i < n; ++i) top = z[i] > top ? z[i] : top;
    double total = 0.0;
    for (std::size_t i = 0; i < n; ++i) total += std::exp(static_cast<double>(z[i] - top));
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<float>(std::exp(static_cast<double>(z[i] - top)) / total);
}
)";

constexpr const char* window_function =
    R"(
// The input positions [begin, end) that pooling window `index` covers along one axis: the window starts at
// index * stride - pad (TensorFlow's same padding puts pad = half the total, rounded down, before the input) and only
// its positions inside the input count (runtime/kernels/pooling-inl.h).
inline void window_span(std::size_t index, std::size_t stride, std::size_t window, std::size_t pad,
                        std::size_t extent, std::size_t& begin, std::size_t& end) {
    const std::size_t start = index * stride;
    begin = start > pad ? start - pad : 0;
    end = start + window - pad < extent ? start + window - pad : extent;
}
)";

// A Conv2D over one NHWC sample at a time: per output position, the bias plus every tap inside the input (the zero
// padding skipped), summed in double; Keras's HWIO kernel, so the filters are contiguous for each (tap, channel).
std::string conv2d_text(const op& o, const std::string& fn) {
    const auto& g = o.window;
    // Whether some window reaches into the zero padding along each axis (never under valid padding).
    const bool pad_h = (g.out_height() - 1) * g.stride_h + g.window_h > g.height;
    const bool pad_w = (g.out_width() - 1) * g.stride_w + g.window_w > g.width;
    // h and w are unsigned: a position above or left of the input wraps past the end and is skipped like one below.
    const auto position = [](const char* name, const char* index, std::size_t stride, const char* tap, std::size_t pad,
                             std::size_t extent, bool check, const char* indent) {
        std::string text = fmt::format("{}const std::size_t {} = {} * {} + {}{};\n", indent, name, index, stride, tap,
                                       pad ? fmt::format(" - {}", pad) : std::string());
        if (check) text += fmt::format("{}if ({} >= {}) continue;  // zero padding\n", indent, name, extent);
        return text;
    };
    return array_text(fn + "_kernel", o.kernel) + array_text(fn + "_bias", o.bias) +
           fmt::format(
               "inline void {fn}(const float* in, std::size_t n, float* out) {{\n"
               "    for (std::size_t r = 0; r < n; ++r) {{\n"
               "        const float* x = in + r * {in};\n"
               "        float* y = out + r * {out};\n"
               "        for (std::size_t i = 0; i < {oh}; ++i) {{\n"
               "            for (std::size_t j = 0; j < {ow}; ++j) {{\n"
               "                double sum[{f}];\n"
               "                for (std::size_t f = 0; f < {f}; ++f) sum[f] = {fn}_bias[f];\n"
               "                for (std::size_t a = 0; a < {kh}; ++a) {{\n"
               "{h}"
               "                    for (std::size_t b = 0; b < {kw}; ++b) {{\n"
               "{w}"
               "                        const float* xp = x + (h * {width} + w) * {c};\n"
               "                        const float* k = {fn}_kernel + (a * {kw} + b) * {cf};\n"
               "                        for (std::size_t c = 0; c < {c}; ++c) {{\n"
               "                            const double v = xp[c];\n"
               "                            for (std::size_t f = 0; f < {f}; ++f) sum[f] += v * k[c * {f} + f];\n"
               "                        }}\n"
               "                    }}\n"
               "                }}\n"
               "                for (std::size_t f = 0; f < {f}; ++f)\n"
               "                    y[(i * {ow} + j) * {f} + f] = static_cast<float>({act});\n"
               "            }}\n"
               "        }}\n"
               "    }}\n"
               "}}\n",
               fmt::arg("fn", fn), fmt::arg("in", o.in), fmt::arg("out", o.out), fmt::arg("oh", g.out_height()),
               fmt::arg("ow", g.out_width()), fmt::arg("f", o.filters), fmt::arg("kh", g.window_h),
               fmt::arg("kw", g.window_w), fmt::arg("width", g.width), fmt::arg("c", g.channels),
               fmt::arg("cf", g.channels * o.filters),
               fmt::arg("h", position("h", "i", g.stride_h, "a", g.pad_top(), g.height, pad_h, "                    ")),
               fmt::arg("w",
                        position("w", "j", g.stride_w, "b", g.pad_left(), g.width, pad_w, "                        ")),
               fmt::arg("act", activation_call(o.activation, "sum[f]")));
}

// Max or average pooling, one window at a time: the window clipped to the input (padding never wins a max and is
// not counted in a mean), the max in float, the mean summed in double.
std::string pool_text(const op& o, const std::string& fn) {
    const auto& g = o.window;
    const bool max = o.kind == op_kind::max_pool;
    return fmt::format(
        "inline void {fn}(const float* in, std::size_t n, float* out) {{\n"
        "    for (std::size_t r = 0; r < n; ++r) {{\n"
        "        const float* x = in + r * {in};\n"
        "        for (std::size_t i = 0; i < {oh}; ++i) {{\n"
        "            std::size_t h0 = 0, h1 = 0;\n"
        "            window_span(i, {sh}, {kh}, {pt}, {height}, h0, h1);\n"
        "            for (std::size_t j = 0; j < {ow}; ++j) {{\n"
        "                std::size_t w0 = 0, w1 = 0;\n"
        "                window_span(j, {sw}, {kw}, {pl}, {width}, w0, w1);\n"
        "                float* y = out + r * {out} + (i * {ow} + j) * {c};\n"
        "                for (std::size_t c = 0; c < {c}; ++c) {{\n"
        "                    {init}\n"
        "                    for (std::size_t h = h0; h < h1; ++h) {{\n"
        "                        for (std::size_t w = w0; w < w1; ++w) {{\n"
        "                            const float v = x[(h * {width} + w) * {c} + c];\n"
        "                            {accumulate}\n"
        "                        }}\n"
        "                    }}\n"
        "                    y[c] = {result};\n"
        "                }}\n"
        "            }}\n"
        "        }}\n"
        "    }}\n"
        "}}\n",
        fmt::arg("fn", fn), fmt::arg("in", o.in), fmt::arg("out", o.out), fmt::arg("oh", g.out_height()),
        fmt::arg("ow", g.out_width()), fmt::arg("sh", g.stride_h), fmt::arg("sw", g.stride_w),
        fmt::arg("kh", g.window_h), fmt::arg("kw", g.window_w), fmt::arg("pt", g.pad_top()),
        fmt::arg("pl", g.pad_left()), fmt::arg("height", g.height), fmt::arg("width", g.width),
        fmt::arg("c", g.channels),
        fmt::arg("init", max ? fmt::format("float m = x[(h0 * {} + w0) * {} + c];", g.width, g.channels)
                             : std::string("double sum = 0.0;")),
        fmt::arg("accumulate", max ? "m = v > m ? v : m;" : "sum += v;"),
        fmt::arg("result",
                 max ? activation_call(o.activation, "m")
                     : fmt::format("static_cast<float>({})",
                                   activation_call(o.activation, "sum / static_cast<double>((h1 - h0) * (w1 - w0))"))));
}

}  // namespace

std::string float_literal(double value) {
    char text[64];
    std::snprintf(text, sizeof text, "%af", static_cast<double>(static_cast<float>(value)));
    return text;
}

std::string helper_definitions(const std::vector<op>& ops) {
    std::string text = activation_functions;
    for (const auto& o : ops) {
        if (o.kind == op_kind::max_pool || o.kind == op_kind::average_pool) return text + window_function;
    }
    return text;
}

std::string step_definition(const op& o, const std::string& fn) {
    switch (o.kind) {
        case op_kind::affine:
            // Rows in blocks: each weight is loaded once per block; every sum still runs over i in order, so a row's
            // result does not depend on the block it is in.
            return array_text(fn + "_kernel", o.kernel) + array_text(fn + "_bias", o.bias) +
                   fmt::format(
                       "template <std::size_t R>\n"
                       "inline void {0}_rows(const float* in, float* out) {{\n"
                       "    double sum[R][{2}];\n"
                       "    for (std::size_t r = 0; r < R; ++r)\n"
                       "        for (std::size_t j = 0; j < {2}; ++j) sum[r][j] = {0}_bias[j];\n"
                       "    for (std::size_t i = 0; i < {1}; ++i) {{\n"
                       "        const float* w = {0}_kernel + i * {2};\n"
                       "        for (std::size_t r = 0; r < R; ++r) {{\n"
                       "            const double x = in[r * {1} + i];\n"
                       "            for (std::size_t j = 0; j < {2}; ++j) sum[r][j] += x * w[j];\n"
                       "        }}\n"
                       "    }}\n"
                       "    for (std::size_t r = 0; r < R; ++r)\n"
                       "        for (std::size_t j = 0; j < {2}; ++j) out[r * {2} + j] = static_cast<float>({3});\n"
                       "}}\n"
                       "inline void {0}(const float* in, std::size_t n, float* out) {{\n"
                       "    if (n == block_rows) return {0}_rows<block_rows>(in, out);\n"
                       "    for (std::size_t r = 0; r < n; ++r) {0}_rows<1>(in + r * {1}, out + r * {2});\n"
                       "}}\n",
                       fn, o.in, o.out, activation_call(o.activation, "sum[r][j]"));
        case op_kind::conv2d:
            return conv2d_text(o, fn);
        case op_kind::max_pool:
        case op_kind::average_pool:
            return pool_text(o, fn);
        case op_kind::global_average_pool:
            return fmt::format(
                "inline void {0}(const float* in, std::size_t n, float* out) {{\n"
                "    for (std::size_t r = 0; r < n; ++r) {{\n"
                "        for (std::size_t c = 0; c < {2}; ++c) {{\n"
                "            double sum = 0.0;\n"
                "            for (std::size_t p = 0; p < {1}; ++p) sum += in[r * {3} + p * {2} + c];\n"
                "            out[r * {2} + c] = static_cast<float>({4});\n"
                "        }}\n"
                "    }}\n"
                "}}\n",
                fn, o.window.height * o.window.width, o.window.channels, o.in,
                activation_call(o.activation, fmt::format("sum / {}.0", o.window.height * o.window.width)));
        case op_kind::add:
            // In float, as the Net's Add: the same bits.
            return fmt::format(
                "inline void {0}(const float* in, const float* other, std::size_t n, float* out) {{\n"
                "    for (std::size_t i = 0; i < n * {1}; ++i) {{\n"
                "        const float v = in[i] + other[i];\n"
                "        out[i] = {2};\n"
                "    }}\n"
                "}}\n",
                fn, o.in, activation_call(o.activation, "v"));
        case op_kind::scale_shift:
            return array_text(fn + "_scale", o.scale) + array_text(fn + "_shift", o.shift) +
                   fmt::format(
                       "inline void {0}(const float* in, std::size_t n, float* out) {{\n"
                       "    for (std::size_t r = 0; r < n * {1}; ++r) {{\n"
                       "        for (std::size_t c = 0; c < {2}; ++c) {{\n"
                       "            const double v = static_cast<double>(in[r * {2} + c]) * {0}_scale[c] + "
                       "{0}_shift[c];\n"
                       "            out[r * {2} + c] = static_cast<float>({3});\n"
                       "        }}\n"
                       "    }}\n"
                       "}}\n",
                       fn, o.in / o.features, o.features, activation_call(o.activation, "v"));
        case op_kind::standardize:
            // In float, as the Net's normalization kernel: the same bits.
            return array_text(fn + "_mean", o.shift) + array_text(fn + "_denominator", o.scale) +
                   fmt::format(
                       "inline void {0}(const float* in, std::size_t n, float* out) {{\n"
                       "    for (std::size_t r = 0; r < n * {1}; ++r) {{\n"
                       "        for (std::size_t c = 0; c < {2}; ++c)\n"
                       "            out[r * {2} + c] = (in[r * {2} + c] - {0}_mean[c]) / {0}_denominator[c];\n"
                       "    }}\n"
                       "}}\n",
                       fn, o.in / o.features, o.features);
        case op_kind::activation:
            return fmt::format(
                "inline void {0}(const float* in, std::size_t n, float* out) {{\n"
                "    for (std::size_t i = 0; i < n * {1}; ++i) out[i] = {2};\n"
                "}}\n",
                fn, o.in, activation_call(o.activation, "in[i]"));
        case op_kind::softmax:
            break;
    }
    return fmt::format(
        "inline void {0}(const float* in, std::size_t n, float* out) {{\n"
        "    for (std::size_t r = 0; r < n; ++r) softmax(in + r * {1}, {1}, out + r * {1});\n"
        "}}\n",
        fn, o.in);
}

}  // namespace nnfuse::exporter
