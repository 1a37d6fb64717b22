// expect: nnfuse::dense: units must be at least 1
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model =
    nnfuse::sequential(nnfuse::input<784>, nnfuse::dense<0>(nnfuse::relu), nnfuse::mean_squared_error);
#else
constexpr auto model =
    nnfuse::sequential(nnfuse::input<784>, nnfuse::dense<1>(nnfuse::relu), nnfuse::mean_squared_error);
#endif
static_assert(sizeof(model) > 0);
