// expect: nnfuse::sequential: nnfuse::input<...> may only be the first layer
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<8>, nnfuse::dense<4>(), nnfuse::input<4>, nnfuse::dense<2>());
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<8>, nnfuse::dense<4>(), nnfuse::dense<2>());
#endif
static_assert(sizeof(model) > 0);
