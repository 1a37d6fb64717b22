// expect: nnfuse::sequential: the model declares no loss and its last layer does not end in softmax
// expect: undeclared_loss<nnfuse::dense_layer<1, nnfuse::activation_kind::linear, true>
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<13>, nnfuse::dense<8>(nnfuse::relu), nnfuse::dense<1>());
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<13>, nnfuse::dense<8>(nnfuse::relu), nnfuse::dense<1>(),
                                          nnfuse::mean_squared_error);
#endif
static_assert(sizeof(model) > 0);
