// expect: nnfuse::sequential: an argument is neither a layer nor a loss
// expect: sequential_argument<3, nnfuse::activation_t<nnfuse::activation_kind::relu>
#include "dsl/nnfuse.hpp"
// An activation tag where the layer nnfuse::activation(tag) belongs.
#ifdef NNFUSE_MISUSE
constexpr auto model =
    nnfuse::sequential(nnfuse::input<13>, nnfuse::dense<8>(), nnfuse::relu, nnfuse::dense<2>(nnfuse::softmax));
#else
constexpr auto model = nnfuse::sequential(nnfuse::input<13>, nnfuse::dense<8>(), nnfuse::activation(nnfuse::relu),
                                          nnfuse::dense<2>(nnfuse::softmax));
#endif
static_assert(sizeof(model) > 0);
