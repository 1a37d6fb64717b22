// expect: nnfuse::sequential: a layer must provide output<In>::type and variables<In>(name)
// expect: output_or_input() [with Layer = scale_by_two; In = nnfuse::shape<13>]
#include <array>
#include <string_view>

#include "dsl/nnfuse.hpp"
// A new layer kind that forgot part of the layer concept (dsl/layer.hpp).
struct scale_by_two {
    static constexpr std::string_view keras_class = "ScaleByTwo";
    static constexpr std::string_view keras_base_name = "scale_by_two";
    static constexpr bool trainable = true;
#ifndef NNFUSE_MISUSE
    template <class In>
    struct output {
        using type = In;
    };
#endif
    template <class In>
    static constexpr std::array<nnfuse::variable_info, 0> variables(const nnfuse::fixed_string&) {
        return {};
    }
};
constexpr auto model = nnfuse::sequential(nnfuse::input<13>, scale_by_two{}, nnfuse::dense<2>(nnfuse::softmax));
static_assert(sizeof(model) > 0);
