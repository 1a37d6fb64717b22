// expect: nnfuse::average_pool2d: pool larger than the input under valid padding; use a smaller pool or
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<3, 8, 2>, nnfuse::average_pool2d<4, 4>(), nnfuse::flatten(),
                                          nnfuse::dense<2>(nnfuse::softmax));
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<3, 8, 2>, nnfuse::average_pool2d<3, 4>(), nnfuse::flatten(),
                                          nnfuse::dense<2>(nnfuse::softmax));
#endif
static_assert(sizeof(model) > 0);
