// expect: nnfuse::dense: input must be rank 1 (one feature axis); add nnfuse::flatten() before it
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::batch_norm(), nnfuse::dense<20>(nnfuse::elu),
                                          nnfuse::mean_squared_error);
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::flatten(), nnfuse::dense<20>(nnfuse::elu),
                                          nnfuse::mean_squared_error);
#endif
static_assert(sizeof(model) > 0);
