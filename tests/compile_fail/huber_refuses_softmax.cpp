// expect: nnfuse::huber: the last layer must not end in softmax
// expect: check_last_layer<nnfuse::activation_layer<nnfuse::activation_kind::softmax>
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model =
    nnfuse::sequential(nnfuse::input<10>, nnfuse::dense<4>(), nnfuse::activation(nnfuse::softmax), nnfuse::huber);
#else
constexpr auto model =
    nnfuse::sequential(nnfuse::input<10>, nnfuse::dense<4>(), nnfuse::activation(nnfuse::tanh), nnfuse::huber);
#endif
static_assert(sizeof(model) > 0);
