// nnfuse::codegen::kernel_signature: the building blocks the generated code calls, each signature typed once.
//
// A signature names the function (a runtime/kernels building block instantiated per SIMD target by a generated
// wrapper, or a runtime function called as it is), the header that declares it and its parameters. The wrapper's
// parameter list, its call and the dispatch entry are printed from `parameters`; a statement passes one argument
// per parameter (make_plan checks the count). A `const T*` parameter is read, a `T*` one written.
// ensures: these lists match the declarations in runtime/ (the compile of the generated code checks that).
#pragma once

#include <string>
#include <vector>

namespace nnfuse::codegen {

struct kernel_parameter {
    std::string type, name;
    bool reads() const { return type.rfind("const ", 0) == 0 && type.back() == '*'; }
    bool writes() const { return type.rfind("const ", 0) != 0 && type.back() == '*'; }
};

// A template argument of a building block; `name` is printed as /*name=*/ before a value whose meaning its position
// does not say (a bool).
struct template_argument {
    std::string value;
    std::string name = {};
};

struct kernel_signature {
    std::string function;  // "kernels::DenseForward" (per-target building block) or "nnfuse::gather_pixel_rows"
    std::string header;    // where it is declared ("" for the standard library)
    std::vector<kernel_parameter> parameters;
    bool per_target = true;  // false: a runtime function, called directly
};

namespace signatures {

extern const kernel_signature dense_forward, dense_forward_transposed_kernel, dense_backward;
extern const kernel_signature conv2d_forward, conv2d_forward_with_moments, conv2d_flip_kernel,
    conv2d_transform_forward_kernel, conv2d_backward;
extern const kernel_signature conv2d_forward_bn_input, conv2d_forward_with_moments_bn_input, conv2d_backward_bn_input;
extern const kernel_signature max_pool2d_forward, max_pool2d_backward, average_pool2d_forward, average_pool2d_backward,
    global_average_pool2d_forward, global_average_pool2d_backward;
extern const kernel_signature max_pool2d_forward_bn_input, max_pool2d_backward_bn_input;
extern const kernel_signature bn_forward_infer, bn_forward_train, bn_backward, bn_backward_frozen;
extern const kernel_signature bn_chunk_moments, bn_merge_chunk_moments, bn_normalize_rows;
extern const kernel_signature bn_merge_group_moments, bn_merge_group_gradients;
extern const kernel_signature bn_chunk_moments_from_pixels, bn_normalize_pixel_rows;
extern const kernel_signature bn_normalize_chunk, bn_chunk_gradient_sums, bn_merge_chunk_gradients,
    bn_chunk_input_gradient;
extern const kernel_signature bn_chunk_gradient_sums_from_x, bn_chunk_input_gradient_from_x;
extern const kernel_signature bn_fold_into_dense, bn_fold_into_dense_transposed, bn_dense_gradient_epilogue,
    bn_fold_into_conv;
extern const kernel_signature activation_forward, activation_backward;
extern const kernel_signature softmax_cross_entropy, softmax_categorical_cross_entropy, sigmoid_binary_cross_entropy;
extern const kernel_signature mean_squared_error, mean_absolute_error, huber;
extern const kernel_signature dropout_forward, dropout_backward, dropout_infer;
extern const kernel_signature normalization_forward;
extern const kernel_signature add_forward;
// runtime functions (copy_floats is std::copy_n: no header of its own, the generated source includes <algorithm>)
extern const kernel_signature bn_update_moving, gather_pixel_rows, prefetch_next_chunk, softmax_rows, sigmoid_values,
    copy_floats;
extern const kernel_signature advance_random_step;

}  // namespace signatures

}  // namespace nnfuse::codegen
