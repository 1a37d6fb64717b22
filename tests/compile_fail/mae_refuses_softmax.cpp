// expect: nnfuse::mean_absolute_error: the last layer must not end in softmax
// expect: check_last_layer<nnfuse::dense_layer<3, nnfuse::activation_kind::softmax, true>
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model =
    nnfuse::sequential(nnfuse::input<10>, nnfuse::dense<3>(nnfuse::softmax), nnfuse::mean_absolute_error);
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<10>, nnfuse::dense<3>(), nnfuse::mean_absolute_error);
#endif
static_assert(sizeof(model) > 0);
