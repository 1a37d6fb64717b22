// expect: nnfuse::batch_norm: epsilon must be > 0
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model =
    nnfuse::sequential(nnfuse::input<784>, nnfuse::batch_norm<{.epsilon = 0.0}>(), nnfuse::mean_squared_error);
#else
constexpr auto model =
    nnfuse::sequential(nnfuse::input<784>, nnfuse::batch_norm<{.epsilon = 1e-12}>(), nnfuse::mean_squared_error);
#endif
static_assert(sizeof(model) > 0);
