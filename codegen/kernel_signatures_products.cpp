// The signatures of the matrix-product layers' kernels (dense, Conv2D with its BN fusions) and pooling (max pooling's
// BN fusion too), declared in kernel_signatures.hpp. They live in one file because the convolution's lists are built
// from the dense layer's (the order of initialization across files is unspecified).
#include "codegen/kernel_signatures.hpp"

#include <algorithm>

namespace nnfuse::codegen::signatures {

namespace {
constexpr const char* dense = "runtime/kernels/dense-inl.h";
constexpr const char* conv2d = "runtime/kernels/conv2d-inl.h";
constexpr const char* conv2d_moments = "runtime/kernels/conv2d_bn_moments-inl.h";
constexpr const char* conv2d_bn_input = "runtime/kernels/conv2d_bn_input-inl.h";
constexpr const char* pooling = "runtime/kernels/pooling-inl.h";
constexpr const char* pooling_bn_input = "runtime/kernels/pooling_bn_input-inl.h";
}  // namespace

const kernel_signature dense_forward{"kernels::DenseForward",
                                     dense,
                                     {{"const float*", "x"},
                                      {"std::size_t", "rows"},
                                      {"const float*", "kernel"},
                                      {"const float*", "bias"},
                                      {"float*", "y"}}};
const kernel_signature dense_forward_transposed_kernel{"kernels::DenseForwardTransposedKernel",
                                                       dense,
                                                       {{"const float*", "x"},
                                                        {"std::size_t", "rows"},
                                                        {"const float*", "kernel_t"},
                                                        {"const float*", "bias"},
                                                        {"float*", "y"}}};
const kernel_signature dense_backward{"kernels::DenseBackward",
                                      dense,
                                      {{"const float*", "x"},
                                       {"const float*", "y"},
                                       {"float*", "dy"},
                                       {"std::size_t", "rows"},
                                       {"const float*", "kernel"},
                                       {"float*", "dkernel"},
                                       {"float*", "dbias"},
                                       {"float*", "dx"}}};
// The convolution's parameters are the dense layer's: x, kernel, bias, y per sample, NHWC.
const kernel_signature conv2d_forward{"kernels::Conv2dForward", conv2d, dense_forward.parameters};
// The forward that takes its BN's statistics reads the forward kernel (Conv2dForwardKernel's, formed once a step).
const kernel_signature conv2d_forward_with_moments{"kernels::Conv2dForwardWithMoments",
                                                   conv2d_moments,
                                                   {{"const float*", "x"},
                                                    {"std::size_t", "rows"},
                                                    {"const float*", "forward_kernel"},
                                                    {"const float*", "bias"},
                                                    {"float*", "y"},
                                                    {"float*", "moments"}}};
const kernel_signature conv2d_flip_kernel{
    "kernels::Conv2dFlipKernel", conv2d, {{"const float*", "kernel"}, {"float*", "flipped_kernel"}}};
const kernel_signature conv2d_transform_forward_kernel{
    "kernels::Conv2dForwardKernel", conv2d, {{"const float*", "kernel"}, {"float*", "forward_kernel"}}};
namespace {
// The dense layer's backward parameters with the flipped kernel after the kernel (conv2d-inl.h's Conv2dBackward).
std::vector<kernel_parameter> with_flipped_kernel(std::vector<kernel_parameter> parameters) {
    const auto kernel = std::find_if(parameters.begin(), parameters.end(),
                                     [](const kernel_parameter& p) { return p.name == "kernel"; });
    parameters.insert(kernel + 1, {"const float*", "flipped_kernel"});
    return parameters;
}
}  // namespace
const kernel_signature conv2d_backward{"kernels::Conv2dBackward", conv2d,
                                       with_flipped_kernel(dense_backward.parameters)};
namespace {
// x, then the BN's constants the layer applies as it reads x (conv2d_bn_input-inl.h, pooling_bn_input-inl.h), then
// `rest`.
std::vector<kernel_parameter> with_bn_input(const std::vector<kernel_parameter>& parameters) {
    std::vector<kernel_parameter> result{parameters.front(),
                                         {"const float*", "batch_mean"},
                                         {"const float*", "inv_std"},
                                         {"const float*", "gamma"},
                                         {"const float*", "beta"}};
    result.insert(result.end(), parameters.begin() + 1, parameters.end());
    return result;
}
}  // namespace
const kernel_signature conv2d_forward_bn_input{"kernels::Conv2dForwardBnInput", conv2d_bn_input,
                                               with_bn_input(dense_forward.parameters)};
const kernel_signature conv2d_forward_with_moments_bn_input{"kernels::Conv2dForwardWithMomentsBnInput", conv2d_bn_input,
                                                            with_bn_input(conv2d_forward_with_moments.parameters)};
const kernel_signature conv2d_backward_bn_input{"kernels::Conv2dBackwardBnInput", conv2d_bn_input,
                                                with_bn_input(conv2d_backward.parameters)};
const kernel_signature max_pool2d_forward{
    "kernels::MaxPool2dForward", pooling, {{"const float*", "x"}, {"std::size_t", "rows"}, {"float*", "y"}}};
const kernel_signature max_pool2d_backward{
    "kernels::MaxPool2dBackward",
    pooling,
    {{"const float*", "x"}, {"const float*", "y"}, {"const float*", "dy"}, {"std::size_t", "rows"}, {"float*", "dx"}}};
const kernel_signature max_pool2d_forward_bn_input{"kernels::MaxPool2dForwardBnInput", pooling_bn_input,
                                                   with_bn_input(max_pool2d_forward.parameters)};
const kernel_signature max_pool2d_backward_bn_input{"kernels::MaxPool2dBackwardBnInput", pooling_bn_input,
                                                    with_bn_input(max_pool2d_backward.parameters)};
const kernel_signature average_pool2d_forward{"kernels::AveragePool2dForward", pooling, max_pool2d_forward.parameters};
const kernel_signature average_pool2d_backward{
    "kernels::AveragePool2dBackward", pooling, {{"const float*", "dy"}, {"std::size_t", "rows"}, {"float*", "dx"}}};
const kernel_signature global_average_pool2d_forward{"kernels::GlobalAveragePool2dForward", pooling,
                                                     max_pool2d_forward.parameters};
const kernel_signature global_average_pool2d_backward{"kernels::GlobalAveragePool2dBackward", pooling,
                                                      average_pool2d_backward.parameters};

}  // namespace nnfuse::codegen::signatures
