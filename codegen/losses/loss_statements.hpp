// nnfuse::codegen::losses, the statements every loss module plans the same way (loss_module.hpp):
//   train_statements(b, kernel, targets, extra)
//       train_batch's loss: per chunk, chunk_results_[chunk] reset, then `kernel` called on the chunk's rows of the
//       output (plan.output) and of `targets`, with the batch mean's scale 1/rows, writing the output's gradient and
//       adding the chunk's loss and metric sums; `extra` arguments follow (e.g. Huber's delta).
//   evaluation_statement(b, kernel, targets, extra)
//       evaluate_batch's: the same kernel on `output` (the inference output), no gradient, into `result`.
//   float_targets(plan): the caller's float targets, plan.outputs per row, as `target_values`.
// And the pieces of the losses that fit real values to the output as it is (mean squared / absolute error, Huber):
//   refuse_softmax(last, loss): plan_error unless the last layer ends in something other than softmax;
//   output_as_prediction(b): predict_batch's `predictions`, a copy of the output.
// requires: the kernel's signature is (output, targets, rows, grad_scale, doutput, loss_sum, metric_sum, extra...).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "codegen/layers/plan_builder.hpp"

namespace nnfuse::codegen::losses {

std::vector<statement> train_statements(plan_builder& b, std::size_t kernel, const storage& targets,
                                        std::vector<argument> extra = {});
statement evaluation_statement(plan_builder& b, std::size_t kernel, const storage& targets,
                               std::vector<argument> extra = {});
storage float_targets(const model_plan& plan);

void refuse_softmax(const layer_description& last, std::string_view loss);
statement output_as_prediction(plan_builder& b);

}  // namespace nnfuse::codegen::losses
