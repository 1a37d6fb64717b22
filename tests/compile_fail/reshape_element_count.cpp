// expect: nnfuse::reshape: the target shape must hold as many values as the input (Keras Reshape)
// 28 x 28 values are one channel of 28 x 28, not two.
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::reshape<28, 28, 2>(),
                                          nnfuse::global_average_pool2d(), nnfuse::dense<10>(nnfuse::softmax));
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::reshape<28, 28, 1>(),
                                          nnfuse::global_average_pool2d(), nnfuse::dense<10>(nnfuse::softmax));
#endif
static_assert(sizeof(model) > 0);
