// expect: nnfuse::conv2d: input must be rank 3 (height, width, channels); add nnfuse::reshape<h, w, c>() before it
// A flat sample has no height and width: reshape it to an image first.
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<784>, nnfuse::conv2d<8, 3, 3>(nnfuse::relu),
                                          nnfuse::global_average_pool2d(), nnfuse::dense<10>(nnfuse::softmax));
#else
constexpr auto model =
    nnfuse::sequential(nnfuse::input<784>, nnfuse::reshape<28, 28, 1>(), nnfuse::conv2d<8, 3, 3>(nnfuse::relu),
                       nnfuse::global_average_pool2d(), nnfuse::dense<10>(nnfuse::softmax));
#endif
static_assert(sizeof(model) > 0);
