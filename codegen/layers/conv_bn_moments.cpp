#include "codegen/layers/conv_bn_moments.hpp"

#include "runtime/kernels/bn_chunked.hpp"

namespace nnfuse::codegen::layers {

bool moments_in_conv_epilogue(const step& conv, const step& bn) {
    const auto* layer = conv.layer->as<conv2d_parameters>();
    const auto* norm = bn.layer->as<batch_norm_parameters>();
    return layer != nullptr && norm != nullptr && conv.activation == activation_kind::linear && bn.in == conv.out &&
           norm->trainable && !bn.folded_into && norm->features == layer->filters &&
           layer->filters <= kernels::bn_panel_features;
}

storage chunk_statistics_records(const step& bn, std::size_t features) {
    return plan_builder::region(bn.layer->name + "_chunk_moments", extent::chunk_moments, features,
                                "each chunk's batch statistics, merged in chunk order");
}

}  // namespace nnfuse::codegen::layers
