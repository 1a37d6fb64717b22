// expect: nnfuse::binary_crossentropy: the last layer must end in sigmoid
// expect: check_last_layer<nnfuse::dense_layer<1, nnfuse::activation_kind::linear, true>
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<30>, nnfuse::dense<1>(), nnfuse::binary_crossentropy);
#else
constexpr auto model =
    nnfuse::sequential(nnfuse::input<30>, nnfuse::dense<1>(nnfuse::sigmoid), nnfuse::binary_crossentropy);
#endif
static_assert(sizeof(model) > 0);
