// expect: nnfuse::sequential: a loss may only be the last argument
// expect: sequential_argument<3, nnfuse::mean_squared_error_t
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model =
    nnfuse::sequential(nnfuse::input<13>, nnfuse::dense<8>(), nnfuse::mean_squared_error, nnfuse::dense<1>());
#else
constexpr auto model =
    nnfuse::sequential(nnfuse::input<13>, nnfuse::dense<8>(), nnfuse::dense<1>(), nnfuse::mean_squared_error);
#endif
static_assert(sizeof(model) > 0);
