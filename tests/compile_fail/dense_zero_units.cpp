// expect: nnfuse::dense: units must be at least 1
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<784>, nnfuse::dense<0>(nnfuse::relu));
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<784>, nnfuse::dense<1>(nnfuse::relu));
#endif
static_assert(sizeof(model) > 0);
