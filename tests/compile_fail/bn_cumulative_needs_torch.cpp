// expect: nnfuse::batch_norm: cumulative_average is the torch profile's momentum=None; set .profile = torch
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<784>, nnfuse::batch_norm<{.cumulative_average = true}>(),
                                          nnfuse::mean_squared_error);
#else
constexpr auto model = nnfuse::sequential(
    nnfuse::input<784>, nnfuse::batch_norm<{.profile = nnfuse::bn_profile::torch, .cumulative_average = true}>(),
    nnfuse::mean_squared_error);
#endif
static_assert(sizeof(model) > 0);
