// expect: nnfuse::sequential: a model must start with nnfuse::input<...>
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::flatten(), nnfuse::dense<10>(nnfuse::softmax));
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::flatten(), nnfuse::dense<10>(nnfuse::softmax));
#endif
static_assert(sizeof(model) > 0);
