// expect: nnfuse::max_pool2d: pool larger than the input under valid padding; use a smaller pool or
// After a 3x3 convolution a 5x5 image is 3x3: a 4x4 pool no longer fits it unless padded.
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<5, 5, 1>, nnfuse::conv2d<4, 3, 3>(), nnfuse::max_pool2d<4, 4>(),
                                          nnfuse::flatten(), nnfuse::dense<2>(nnfuse::softmax));
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<5, 5, 1>, nnfuse::conv2d<4, 3, 3>(),
                                          nnfuse::max_pool2d<4, 4>(nnfuse::same_padding), nnfuse::flatten(),
                                          nnfuse::dense<2>(nnfuse::softmax));
#endif
static_assert(sizeof(model) > 0);
