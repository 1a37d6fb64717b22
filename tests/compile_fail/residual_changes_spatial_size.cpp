// expect: nnfuse::residual: the block's output shape must equal its input shape (spatial size or rank mismatch in add)
// A 3x3 convolution under valid padding turns 8x8 into 6x6: the block's output cannot be added to its input.
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model =
    nnfuse::sequential(nnfuse::input<8, 8, 16>, nnfuse::residual(nnfuse::conv2d<16, 3, 3>(nnfuse::relu)),
                       nnfuse::global_average_pool2d(), nnfuse::dense<10>(nnfuse::softmax));
#else
constexpr auto model = nnfuse::sequential(
    nnfuse::input<8, 8, 16>, nnfuse::residual(nnfuse::conv2d<16, 3, 3>(nnfuse::same_padding, nnfuse::relu)),
    nnfuse::global_average_pool2d(), nnfuse::dense<10>(nnfuse::softmax));
#endif
static_assert(sizeof(model) > 0);
