// expect: nnfuse::batch_norm: give either momentum or cumulative_average, not both
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(
    nnfuse::input<784>,
    nnfuse::batch_norm<{.profile = nnfuse::bn_profile::torch, .momentum = 0.1, .cumulative_average = true}>(),
    nnfuse::mean_squared_error);
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<784>,
                                          nnfuse::batch_norm<{.profile = nnfuse::bn_profile::torch, .momentum = 0.1}>(),
                                          nnfuse::mean_squared_error);
#endif
static_assert(sizeof(model) > 0);
