// expect: nnfuse-gen: conv2d is declared but not yet generated (issue 20)
// The generator (codegen/main.cpp calls describe) refuses, when it is compiled, a model with a layer the DSL
// declares but code generation does not support yet: one error, for the first such layer.
#include "codegen/model_description.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model =
    nnfuse::sequential(nnfuse::input<28, 28, 1>, nnfuse::conv2d<8, 3, 3>(nnfuse::relu), nnfuse::max_pool2d<2, 2>(),
                       nnfuse::global_average_pool2d(), nnfuse::dense<10>(nnfuse::softmax));
#else
constexpr auto model =
    nnfuse::sequential(nnfuse::input<28, 28, 1>, nnfuse::flatten(), nnfuse::dense<10>(nnfuse::softmax));
#endif
const auto layers = nnfuse::codegen::describe(model);
