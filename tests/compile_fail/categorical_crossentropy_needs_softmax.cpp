// expect: nnfuse::categorical_crossentropy: the last layer must end in softmax
// expect: check_last_layer<nnfuse::activation_layer<nnfuse::activation_kind::sigmoid>
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<13>, nnfuse::dense<3>(), nnfuse::activation(nnfuse::sigmoid),
                                          nnfuse::categorical_crossentropy);
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<13>, nnfuse::dense<3>(), nnfuse::activation(nnfuse::softmax),
                                          nnfuse::categorical_crossentropy);
#endif
static_assert(sizeof(model) > 0);
