// expect: nnfuse::batch_norm: torch-profile momentum must be in (0, 1]
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<784>,
                                          nnfuse::batch_norm<{.profile = nnfuse::bn_profile::torch, .momentum = 0.0}>(),
                                          nnfuse::mean_squared_error);
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<784>,
                                          nnfuse::batch_norm<{.profile = nnfuse::bn_profile::torch, .momentum = 1.0}>(),
                                          nnfuse::mean_squared_error);
#endif
static_assert(sizeof(model) > 0);
