// expect: nnfuse::sequential: nnfuse::input<...> may only be the first layer
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model =
    nnfuse::sequential(nnfuse::input<8>, nnfuse::dense<4>(), nnfuse::input<4>, nnfuse::dense<2>(nnfuse::softmax));
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<8>, nnfuse::dense<4>(), nnfuse::dense<2>(nnfuse::softmax));
#endif
static_assert(sizeof(model) > 0);
