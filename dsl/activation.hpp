// nnfuse activations: the element-wise (and softmax) functions a Dense or Activation layer applies.
//
// Each activation is a distinct tag type, so a layer's activation is part of its type and the
// generator reads it as a constant: dense<20>(nnfuse::elu) is dense_layer<20, activation_kind::elu>.
// Names match Keras's strings ("elu", "softmax"), which the summary and the generator print.
#pragma once

#include <string_view>

namespace nnfuse {

enum class activation_kind { linear, relu, elu, selu, sigmoid, tanh, softmax };

constexpr std::string_view keras_name(activation_kind kind) {
    switch (kind) {
        case activation_kind::linear:
            return "linear";
        case activation_kind::relu:
            return "relu";
        case activation_kind::elu:
            return "elu";
        case activation_kind::selu:
            return "selu";
        case activation_kind::sigmoid:
            return "sigmoid";
        case activation_kind::tanh:
            return "tanh";
        case activation_kind::softmax:
            return "softmax";
    }
    return "?";
}

template <activation_kind Kind>
struct activation_t {
    static constexpr activation_kind kind = Kind;
};

inline constexpr activation_t<activation_kind::linear> linear{};
inline constexpr activation_t<activation_kind::relu> relu{};
inline constexpr activation_t<activation_kind::elu> elu{};
inline constexpr activation_t<activation_kind::selu> selu{};
inline constexpr activation_t<activation_kind::sigmoid> sigmoid{};
inline constexpr activation_t<activation_kind::tanh> tanh{};
inline constexpr activation_t<activation_kind::softmax> softmax{};

}  // namespace nnfuse
