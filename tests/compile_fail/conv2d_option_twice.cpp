// expect: nnfuse::conv2d: each option (activation, no_bias, strides, padding) may be given only once
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto layer = nnfuse::conv2d<8, 3, 3>(nnfuse::relu, nnfuse::same_padding, nnfuse::elu);
#else
constexpr auto layer = nnfuse::conv2d<8, 3, 3>(nnfuse::relu, nnfuse::same_padding, nnfuse::no_bias);
#endif
static_assert(sizeof(layer) > 0);
