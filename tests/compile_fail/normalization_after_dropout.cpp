// expect: nnfuse::normalization: must come right after nnfuse::input<...> (or after nnfuse::flatten())
// Only layers that reshape may come between the input and the normalization: dropout is not one.
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<4, 5>, nnfuse::flatten(), nnfuse::dropout<0.5>(),
                                          nnfuse::normalization(), nnfuse::dense<3>(nnfuse::softmax));
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<4, 5>, nnfuse::flatten(), nnfuse::normalization(),
                                          nnfuse::dropout<0.5>(), nnfuse::dense<3>(nnfuse::softmax));
#endif
static_assert(sizeof(model) > 0);
