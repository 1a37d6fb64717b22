// expect: nnfuse::batch_norm: momentum must be in [0, 1)
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model =
    nnfuse::sequential(nnfuse::input<784>, nnfuse::batch_norm<{.momentum = 1.0}>(), nnfuse::mean_squared_error);
#else
constexpr auto model =
    nnfuse::sequential(nnfuse::input<784>, nnfuse::batch_norm<{.momentum = 0.0}>(), nnfuse::mean_squared_error);
#endif
static_assert(sizeof(model) > 0);
