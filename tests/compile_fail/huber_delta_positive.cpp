// expect: nnfuse::huber_with_delta: delta must be > 0 and finite
// expect: huber_t<0.0>
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<10>, nnfuse::dense<1>(), nnfuse::huber_with_delta<0.0>);
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<10>, nnfuse::dense<1>(), nnfuse::huber_with_delta<0.5>);
#endif
static_assert(sizeof(model) > 0);
