// expect: nnfuse::input: every dimension must be at least 1
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<28, 0>, nnfuse::flatten(), nnfuse::dense<10>(nnfuse::softmax));
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<28, 1>, nnfuse::flatten(), nnfuse::dense<10>(nnfuse::softmax));
#endif
static_assert(sizeof(model) > 0);
