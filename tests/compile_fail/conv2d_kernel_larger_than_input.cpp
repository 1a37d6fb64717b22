// expect: nnfuse::conv2d: kernel larger than the input under valid padding; use a smaller kernel or
// A 5x5 kernel does not fit a 4x4 image without padding; same padding keeps it (output 4x4).
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<4, 4, 3>, nnfuse::conv2d<8, 5, 5>(),
                                          nnfuse::global_average_pool2d(), nnfuse::dense<2>(nnfuse::softmax));
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<4, 4, 3>, nnfuse::conv2d<8, 5, 5>(nnfuse::same_padding),
                                          nnfuse::global_average_pool2d(), nnfuse::dense<2>(nnfuse::softmax));
#endif
static_assert(sizeof(model) > 0);
