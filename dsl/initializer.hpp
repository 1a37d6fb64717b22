// nnfuse::initializer: how a variable's values are set before training, by Keras's name for it.
//
//   zeros           every value 0        (Keras's default for Dense bias, BN beta and moving_mean)
//   ones            every value 1        (BN gamma and moving_variance)
//   glorot_uniform  uniform in [-l, l], l = sqrt(6 / (fan_in + fan_out)), fan_in and fan_out the two dims of a
//                   rank-2 variable      (Dense kernel)
// Each layer names the initializer of each of its variables (dsl/variable.hpp, make_variable); runtime/train
// applies them. This is the single definition: dsl/ and runtime/ both include it.
#pragma once

#include <string_view>

namespace nnfuse {

enum class initializer { zeros, ones, glorot_uniform };

constexpr std::string_view keras_name(initializer init) {
    switch (init) {
        case initializer::zeros:
            return "zeros";
        case initializer::ones:
            return "ones";
        case initializer::glorot_uniform:
            return "glorot_uniform";
    }
    return "?";
}

}  // namespace nnfuse
