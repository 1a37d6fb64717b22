// expect: nnfuse-gen: residual is declared but not yet generated (issue 20)
// The generator (codegen/main.cpp calls describe) refuses, when it is compiled, a model with a residual block: its
// Add (a layer read by two others, a gradient summed from two) is declared in the DSL, not generated yet.
#include "codegen/model_description.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model = nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::flatten(), nnfuse::dense<20>(nnfuse::relu),
                                          nnfuse::residual(nnfuse::dense<20>(nnfuse::relu), nnfuse::dense<20>()),
                                          nnfuse::dense<10>(nnfuse::softmax));
#else
constexpr auto model =
    nnfuse::sequential(nnfuse::input<28, 28>, nnfuse::flatten(), nnfuse::dense<20>(nnfuse::relu),
                       nnfuse::dense<20>(nnfuse::relu), nnfuse::dense<20>(), nnfuse::dense<10>(nnfuse::softmax));
#endif
const auto layers = nnfuse::codegen::describe(model);
