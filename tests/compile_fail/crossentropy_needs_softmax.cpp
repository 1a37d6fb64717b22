// expect: nnfuse::sparse_categorical_crossentropy: the last layer must end in softmax
// expect: check_last_layer<nnfuse::dense_layer<10, nnfuse::activation_kind::sigmoid, true>
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model =
    nnfuse::sequential(nnfuse::input<784>, nnfuse::dense<10>(nnfuse::sigmoid), nnfuse::sparse_categorical_crossentropy);
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<784>, nnfuse::dense<10>(), nnfuse::activation(nnfuse::softmax),
                                          nnfuse::sparse_categorical_crossentropy);
#endif
static_assert(sizeof(model) > 0);
