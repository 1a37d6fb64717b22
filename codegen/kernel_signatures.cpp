// The signatures of the batch normalization, activation, loss and other kernels and of the runtime functions the
// generated code calls (kernel_signatures.hpp); the matrix-product layers' and pooling's are in
// kernel_signatures_products.cpp.
#include "codegen/kernel_signatures.hpp"

namespace nnfuse::codegen::signatures {

namespace {
constexpr const char* batch_norm = "runtime/kernels/batch_norm-inl.h";
constexpr const char* chunked = "runtime/kernels/bn_chunked-inl.h";
constexpr const char* chunk_training = "runtime/kernels/bn_chunk_training-inl.h";
constexpr const char* pixels = "runtime/kernels/bn_pixels-inl.h";
constexpr const char* groups = "runtime/kernels/bn_groups-inl.h";
constexpr const char* fold = "runtime/kernels/bn_dense_fold-inl.h";
constexpr const char* frozen = "runtime/kernels/bn_frozen-inl.h";
constexpr const char* activation = "runtime/kernels/activation-inl.h";
constexpr const char* softmax_xent = "runtime/kernels/softmax_xent-inl.h";
constexpr const char* mean_squared_error_kernel = "runtime/kernels/mean_squared_error-inl.h";
constexpr const char* mean_absolute_error_kernel = "runtime/kernels/mean_absolute_error-inl.h";
constexpr const char* huber_kernel = "runtime/kernels/huber-inl.h";
constexpr const char* categorical_xent = "runtime/kernels/softmax_categorical_xent-inl.h";
constexpr const char* binary_xent = "runtime/kernels/sigmoid_binary_xent-inl.h";

// An element-wise loss on float targets: (output, targets, rows, grad_scale, doutput, loss_sum, metric_sum).
std::vector<kernel_parameter> float_target_loss(const char* output, const char* metric_sum) {
    return {{"const float*", output}, {"const float*", "targets"},           {"std::size_t", "rows"},
            {"float", "grad_scale"},  {"float*", std::string("d") + output}, {"double*", "loss_sum"},
            {"double*", metric_sum}};
}
constexpr const char* dropout = "runtime/kernels/dropout-inl.h";
constexpr const char* normalization = "runtime/kernels/normalization-inl.h";
}  // namespace

const kernel_signature bn_forward_infer{"kernels::BnForwardInfer",
                                        batch_norm,
                                        {{"const float*", "x"},
                                         {"std::size_t", "rows"},
                                         {"float", "epsilon"},
                                         {"const float*", "gamma"},
                                         {"const float*", "beta"},
                                         {"const float*", "moving_mean"},
                                         {"const float*", "moving_var"},
                                         {"float*", "y"}}};
const kernel_signature bn_forward_train{"kernels::BnForwardTrain",
                                        batch_norm,
                                        {{"const float*", "x"},
                                         {"std::size_t", "rows"},
                                         {"float", "epsilon"},
                                         {"const float*", "gamma"},
                                         {"const float*", "beta"},
                                         {"float*", "batch_mean"},
                                         {"float*", "batch_var"},
                                         {"float*", "inv_std"},
                                         {"float*", "y"}}};
const kernel_signature bn_backward{"kernels::BnBackward",
                                   batch_norm,
                                   {{"const float*", "x"},
                                    {"const float*", "y"},
                                    {"const float*", "dy"},
                                    {"std::size_t", "rows"},
                                    {"const float*", "gamma"},
                                    {"const float*", "batch_mean"},
                                    {"const float*", "inv_std"},
                                    {"float*", "dgamma"},
                                    {"float*", "dbeta"},
                                    {"float*", "dx"},
                                    {"float*", "scratch"}}};
const kernel_signature bn_backward_frozen{"kernels::BnBackwardFrozen",
                                          frozen,
                                          {{"const float*", "y"},
                                           {"const float*", "dy"},
                                           {"std::size_t", "rows"},
                                           {"float", "epsilon"},
                                           {"const float*", "gamma"},
                                           {"const float*", "moving_var"},
                                           {"float*", "dx"}}};
const kernel_signature bn_chunk_moments{
    "kernels::BnChunkMoments", chunked, {{"const float*", "x"}, {"std::size_t", "rows"}, {"float*", "moments"}}};
const kernel_signature bn_merge_chunk_moments{"kernels::BnMergeChunkMoments",
                                              chunked,
                                              {{"const float*", "moments"},
                                               {"std::size_t", "rows"},
                                               {"std::size_t", "chunk_rows"},
                                               {"float", "epsilon"},
                                               {"float*", "batch_mean"},
                                               {"float*", "batch_var"},
                                               {"float*", "inv_std"}}};
const kernel_signature bn_merge_group_moments{"kernels::BnMergeGroupMoments",
                                              groups,
                                              {{"const float*", "moments"},
                                               {"const nnfuse::bn_statistics_groups&", "groups"},
                                               {"std::size_t", "rows_per_sample"},
                                               {"std::size_t", "chunk_rows"},
                                               {"float", "epsilon"},
                                               {"float*", "batch_mean"},
                                               {"float*", "batch_var"},
                                               {"float*", "inv_std"},
                                               {"float*", "moving_mean"},
                                               {"float*", "moving_var"}}};
const kernel_signature bn_normalize_rows{"kernels::BnNormalizeRows",
                                         chunked,
                                         {{"const float*", "x"},
                                          {"std::size_t", "rows"},
                                          {"const float*", "batch_mean"},
                                          {"const float*", "inv_std"},
                                          {"float*", "xhat"}}};
const kernel_signature bn_normalize_chunk{"kernels::BnNormalizeChunk",
                                          chunk_training,
                                          {{"const float*", "x"},
                                           {"std::size_t", "rows"},
                                           {"const float*", "batch_mean"},
                                           {"const float*", "inv_std"},
                                           {"const float*", "gamma"},
                                           {"const float*", "beta"},
                                           {"float*", "y"}}};
const kernel_signature bn_chunk_gradient_sums{"kernels::BnChunkGradientSums",
                                              chunk_training,
                                              {{"const float*", "x"},
                                               {"const float*", "y"},
                                               {"const float*", "dy"},
                                               {"std::size_t", "rows"},
                                               {"const float*", "batch_mean"},
                                               {"float*", "sums"}}};
const kernel_signature bn_merge_chunk_gradients{"kernels::BnMergeChunkGradients",
                                                chunk_training,
                                                {{"const float*", "sums"},
                                                 {"std::size_t", "chunks"},
                                                 {"std::size_t", "rows"},
                                                 {"const float*", "gamma"},
                                                 {"const float*", "inv_std"},
                                                 {"float*", "dgamma"},
                                                 {"float*", "dbeta"},
                                                 {"float*", "coefficients"}}};
const kernel_signature bn_merge_group_gradients{"kernels::BnMergeGroupGradients",
                                                groups,
                                                {{"const float*", "sums"},
                                                 {"const float*", "moments"},
                                                 {"const nnfuse::bn_statistics_groups&", "groups"},
                                                 {"std::size_t", "rows_per_sample"},
                                                 {"std::size_t", "chunk_rows"},
                                                 {"float", "epsilon"},
                                                 {"const float*", "gamma"},
                                                 {"const float*", "inv_std"},
                                                 {"float*", "dgamma"},
                                                 {"float*", "dbeta"},
                                                 {"float*", "coefficients"}}};
const kernel_signature bn_chunk_input_gradient{"kernels::BnChunkInputGradient",
                                               chunk_training,
                                               {{"const float*", "x"},
                                                {"const float*", "y"},
                                                {"const float*", "dy"},
                                                {"std::size_t", "rows"},
                                                {"const float*", "gamma"},
                                                {"const float*", "batch_mean"},
                                                {"const float*", "inv_std"},
                                                {"const float*", "coefficients"},
                                                {"float*", "dx"}}};
const kernel_signature bn_chunk_gradient_sums_from_x{"kernels::BnChunkGradientSumsFromX",
                                                     chunk_training,
                                                     {{"const float*", "x"},
                                                      {"const float*", "dy"},
                                                      {"std::size_t", "rows"},
                                                      {"const float*", "batch_mean"},
                                                      {"const float*", "inv_std"},
                                                      {"const float*", "gamma"},
                                                      {"const float*", "beta"},
                                                      {"float*", "sums"}}};
const kernel_signature bn_chunk_input_gradient_from_x{"kernels::BnChunkInputGradientFromX",
                                                      chunk_training,
                                                      {{"const float*", "x"},
                                                       {"const float*", "dy"},
                                                       {"std::size_t", "rows"},
                                                       {"const float*", "gamma"},
                                                       {"const float*", "beta"},
                                                       {"const float*", "batch_mean"},
                                                       {"const float*", "inv_std"},
                                                       {"const float*", "coefficients"},
                                                       {"float*", "dx"}}};
const kernel_signature bn_chunk_moments_from_pixels{"kernels::BnChunkMomentsFromPixels",
                                                    pixels,
                                                    {{"const std::uint8_t*", "pixels"},
                                                     {"const std::uint32_t*", "rows"},
                                                     {"std::size_t", "count"},
                                                     {"float", "scale"},
                                                     {"float*", "moments"}}};
const kernel_signature bn_normalize_pixel_rows{"kernels::BnNormalizePixelRows",
                                               pixels,
                                               {{"const std::uint8_t*", "pixels"},
                                                {"const std::uint32_t*", "rows"},
                                                {"std::size_t", "count"},
                                                {"float", "scale"},
                                                {"const float*", "batch_mean"},
                                                {"const float*", "inv_std"},
                                                {"float*", "xhat"}}};
const kernel_signature bn_fold_into_dense{"kernels::BnFoldIntoDense",
                                          fold,
                                          {{"const float*", "gamma"},
                                           {"const float*", "beta"},
                                           {"const float*", "kernel"},
                                           {"const float*", "bias"},
                                           {"float*", "folded_kernel"},
                                           {"float*", "folded_bias"}}};
const kernel_signature bn_fold_into_dense_transposed{"kernels::BnFoldIntoDenseTransposed",
                                                     fold,
                                                     {{"const float*", "gamma"},
                                                      {"const float*", "beta"},
                                                      {"const float*", "kernel"},
                                                      {"const float*", "bias"},
                                                      {"float*", "folded_kernel_t"},
                                                      {"float*", "folded_bias"}}};
const kernel_signature bn_dense_gradient_epilogue{"kernels::BnDenseGradientEpilogue",
                                                  fold,
                                                  {{"const float*", "gamma"},
                                                   {"const float*", "beta"},
                                                   {"const float*", "kernel"},
                                                   {"const float*", "dz_sum"},
                                                   {"const float*", "xhat_dz"},
                                                   {"float*", "dkernel"},
                                                   {"float*", "dgamma"},
                                                   {"float*", "dbeta"}}};
const kernel_signature activation_forward{
    "kernels::ActivationForward", activation, {{"const float*", "x"}, {"std::size_t", "rows"}, {"float*", "y"}}};
const kernel_signature activation_backward{
    "kernels::ActivationBackward",
    activation,
    {{"const float*", "y"}, {"const float*", "dy"}, {"std::size_t", "rows"}, {"float*", "dx"}}};
const kernel_signature softmax_cross_entropy{"kernels::SoftmaxCrossEntropy",
                                             softmax_xent,
                                             {{"const float*", "logits"},
                                              {"const std::int32_t*", "labels"},
                                              {"std::size_t", "rows"},
                                              {"float", "grad_scale"},
                                              {"float*", "dlogits"},
                                              {"double*", "loss_sum"},
                                              {"double*", "correct"}}};
const kernel_signature softmax_categorical_cross_entropy{"kernels::SoftmaxCategoricalCrossEntropy", categorical_xent,
                                                         float_target_loss("logits", "correct")};
const kernel_signature sigmoid_binary_cross_entropy{"kernels::SigmoidBinaryCrossEntropy", binary_xent,
                                                    float_target_loss("logits", "accuracy_sum")};
const kernel_signature mean_absolute_error{"kernels::MeanAbsoluteError", mean_absolute_error_kernel,
                                           float_target_loss("predictions", "abs_error_sum")};
const kernel_signature huber{"kernels::Huber", huber_kernel, [] {
                                 auto parameters = float_target_loss("predictions", "abs_error_sum");
                                 parameters.push_back({"float", "delta"});
                                 return parameters;
                             }()};
const kernel_signature mean_squared_error{"kernels::MeanSquaredError",
                                          mean_squared_error_kernel,
                                          {{"const float*", "predictions"},
                                           {"const float*", "targets"},
                                           {"std::size_t", "rows"},
                                           {"float", "grad_scale"},
                                           {"float*", "dpredictions"},
                                           {"double*", "loss_sum"},
                                           {"double*", "abs_error_sum"}}};

const kernel_signature dropout_forward{"kernels::DropoutForward",
                                       dropout,
                                       {{"const float*", "x"},
                                        {"std::size_t", "rows"},
                                        {"std::uint64_t", "first_row"},
                                        {"double", "rate"},
                                        {"std::uint64_t", "seed"},
                                        {"std::uint64_t", "step"},
                                        {"float*", "y"}}};
const kernel_signature dropout_backward{"kernels::DropoutBackward",
                                        dropout,
                                        {{"const float*", "dy"},
                                         {"std::size_t", "rows"},
                                         {"std::uint64_t", "first_row"},
                                         {"double", "rate"},
                                         {"std::uint64_t", "seed"},
                                         {"std::uint64_t", "step"},
                                         {"float*", "dx"}}};
const kernel_signature dropout_infer{
    "kernels::DropoutInfer", dropout, {{"const float*", "x"}, {"std::size_t", "rows"}, {"float*", "y"}}};

const kernel_signature normalization_forward{"kernels::NormalizationForward",
                                             normalization,
                                             {{"const float*", "x"},
                                              {"std::size_t", "rows"},
                                              {"const float*", "mean"},
                                              {"const float*", "variance"},
                                              {"float*", "y"}}};

const kernel_signature add_forward{
    "kernels::AddForward",
    "runtime/kernels/add-inl.h",
    {{"const float*", "a"}, {"const float*", "b"}, {"std::size_t", "rows"}, {"float*", "y"}}};

const kernel_signature bn_update_moving{"nnfuse::kernels::BnUpdateMoving",
                                        "runtime/kernels/bn_moving.hpp",
                                        {{"std::size_t", "features"},
                                         {"const float*", "batch_mean"},
                                         {"const float*", "batch_var"},
                                         {"std::size_t", "rows"},
                                         {"nnfuse::bn_profile", "profile"},
                                         {"double", "momentum"},
                                         {"bool", "cumulative"},
                                         {"std::uint64_t", "batches_seen"},
                                         {"float*", "moving_mean"},
                                         {"float*", "moving_var"}},
                                        false};
const kernel_signature bn_fold_into_conv{"nnfuse::kernels::BnFoldIntoConv",
                                         "runtime/kernels/bn_conv_fold.hpp",
                                         {{"const float*", "kernel"},
                                          {"const float*", "bias"},
                                          {"std::size_t", "taps"},
                                          {"std::size_t", "filters"},
                                          {"float", "epsilon"},
                                          {"const float*", "gamma"},
                                          {"const float*", "beta"},
                                          {"const float*", "moving_mean"},
                                          {"const float*", "moving_variance"},
                                          {"float*", "folded_kernel"},
                                          {"float*", "folded_bias"}},
                                         false};
const kernel_signature gather_pixel_rows{"nnfuse::gather_pixel_rows",
                                         "runtime/data/pixel_rows.hpp",
                                         {{"const std::uint8_t*", "pixels"},
                                          {"std::size_t", "row_size"},
                                          {"std::span<const std::uint32_t>", "rows"},
                                          {"float", "scale"},
                                          {"float*", "out"}},
                                         false};
const kernel_signature softmax_rows{
    "nnfuse::softmax_rows",
    "runtime/train/softmax.hpp",
    {{"const float*", "logits"}, {"std::size_t", "rows"}, {"std::size_t", "classes"}, {"float*", "probabilities"}},
    false};
const kernel_signature sigmoid_values{
    "nnfuse::sigmoid_values",
    "runtime/train/sigmoid.hpp",
    {{"const float*", "logits"}, {"std::size_t", "count"}, {"float*", "probabilities"}},
    false};
const kernel_signature copy_floats{
    "std::copy_n", "", {{"const float*", "from"}, {"std::size_t", "count"}, {"float*", "to"}}, false};
const kernel_signature prefetch_next_chunk{
    "nnfuse::prefetch_next_chunk",
    "runtime/data/pixel_rows.hpp",
    {{"const nnfuse::pixel_batch&", "batch"}, {"std::size_t", "begin"}, {"std::size_t", "count"}},
    false};

const kernel_signature advance_random_step{
    "nnfuse::advance_random_step", "runtime/train/random_state.hpp", {{"nnfuse::random_state&", "state"}}, false};

}  // namespace nnfuse::codegen::signatures
