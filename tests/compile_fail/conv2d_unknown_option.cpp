// expect: nnfuse::conv2d: an option is none of: an activation (nnfuse::relu, ...), nnfuse::no_bias,
// expect: is_conv2d_option<nnfuse::flatten_layer>
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto layer = nnfuse::conv2d<8, 3, 3>(nnfuse::flatten());
#else
constexpr auto layer = nnfuse::conv2d<8, 3, 3>(nnfuse::strides<2, 2>, nnfuse::relu);
#endif
static_assert(sizeof(layer) > 0);
