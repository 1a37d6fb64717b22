// expect: nnfuse::mean_squared_error: the last layer must not end in softmax
// expect: check_last_layer<nnfuse::activation_layer<nnfuse::activation_kind::softmax>
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<13>, nnfuse::dense<3>(), nnfuse::activation(nnfuse::softmax),
                                          nnfuse::mean_squared_error);
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<13>, nnfuse::dense<3>(), nnfuse::activation(nnfuse::sigmoid),
                                          nnfuse::mean_squared_error);
#endif
static_assert(sizeof(model) > 0);
