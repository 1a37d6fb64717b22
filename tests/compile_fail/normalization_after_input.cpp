// expect: nnfuse::normalization: must come right after nnfuse::input<...> (or after nnfuse::flatten())
#include "dsl/nnfuse.hpp"
#ifdef NNFUSE_MISUSE
constexpr auto model =
    nnfuse::sequential(nnfuse::input<30>, nnfuse::dense<16>(nnfuse::no_bias), nnfuse::normalization(),
                       nnfuse::dense<1>(nnfuse::sigmoid), nnfuse::binary_crossentropy);
#else
constexpr auto model =
    nnfuse::sequential(nnfuse::input<30>, nnfuse::normalization(), nnfuse::dense<16>(nnfuse::no_bias),
                       nnfuse::dense<1>(nnfuse::sigmoid), nnfuse::binary_crossentropy);
#endif
static_assert(sizeof(model) > 0);
