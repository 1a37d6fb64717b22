// expect: nnfuse::residual: an argument is not a layer
// A loss belongs to the model (the last argument of nnfuse::sequential), not to a block.
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model =
    nnfuse::sequential(nnfuse::input<4>, nnfuse::residual(nnfuse::dense<4>(nnfuse::relu), nnfuse::mean_squared_error),
                       nnfuse::dense<4>(), nnfuse::mean_squared_error);
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<4>, nnfuse::residual(nnfuse::dense<4>(nnfuse::relu)),
                                          nnfuse::dense<4>(), nnfuse::mean_squared_error);
#endif
static_assert(sizeof(model) > 0);
