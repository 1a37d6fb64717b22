// expect: nnfuse::residual: the block needs at least one layer
// residual() would be y = x + x: a block without layers is a mistake, not a residual.
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<20>, nnfuse::dense<20>(nnfuse::relu), nnfuse::residual(),
                                          nnfuse::dense<10>(nnfuse::softmax));
#else
constexpr auto model =
    nnfuse::sequential(nnfuse::input<20>, nnfuse::dense<20>(nnfuse::relu),
                       nnfuse::residual(nnfuse::dense<20>(nnfuse::relu)), nnfuse::dense<10>(nnfuse::softmax));
#endif
static_assert(sizeof(model) > 0);
