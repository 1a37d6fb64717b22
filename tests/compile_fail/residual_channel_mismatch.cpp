// expect: nnfuse::residual: the block's output shape must equal its input shape (channels mismatch in add)
// The block receives 16 channels and gives 32: Keras's Add cannot sum them (a projection would be needed).
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(
    nnfuse::input<8, 8, 16>,
    nnfuse::residual(nnfuse::conv2d<32, 3, 3>(nnfuse::same_padding, nnfuse::no_bias), nnfuse::batch_norm()),
    nnfuse::global_average_pool2d(), nnfuse::dense<10>(nnfuse::softmax));
#else
constexpr auto model = nnfuse::sequential(
    nnfuse::input<8, 8, 16>,
    nnfuse::residual(nnfuse::conv2d<16, 3, 3>(nnfuse::same_padding, nnfuse::no_bias), nnfuse::batch_norm()),
    nnfuse::global_average_pool2d(), nnfuse::dense<10>(nnfuse::softmax));
#endif
static_assert(sizeof(model) > 0);
