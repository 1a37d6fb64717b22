// expect: nnfuse::dropout: rate must be in [0, 1)
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<20>, nnfuse::dropout<1.0>(), nnfuse::dense<2>(nnfuse::softmax));
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<20>, nnfuse::dropout<0.0>(), nnfuse::dense<2>(nnfuse::softmax));
#endif
static_assert(sizeof(model) > 0);
