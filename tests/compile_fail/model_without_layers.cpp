// expect: nnfuse::sequential: a model needs at least one layer after its input
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<8>);
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<8>, nnfuse::batch_norm(), nnfuse::mean_squared_error);
#endif
static_assert(sizeof(model) > 0);
