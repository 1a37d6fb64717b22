// The plan's passes that work on its statements once make_plan (plan.cpp) has planned every step: what storage a
// statement names follows from its arguments, and these passes derive the rest of model_plan from that.
//   plan_pixel_batch: train_pixel_batch from train_batch (pixel variants, or the batch widened to floats), and
//     train_step, the two in one list.
//   keep_called_kernels: drops the kernels no statement calls and renumbers the calls; clears the pixel variants.
//   derive_storage: the arena and the per-thread copies, from the variable table and the statements.
//   only_chunks_read_rows: no whole-batch statement touches rows, the condition of training over processes.
//   over_processes_refusal: "" when train_batch and train_pixel_batch may train over processes, otherwise why not
//     (naming the first whole-batch statement that reads rows); model_plan::over_processes_refusal.
// requires: plan's statements complete (train_batch, forward_infer, ...), in the order make_plan calls these.
#pragma once

#include <string>
#include <vector>

#include "codegen/plan.hpp"

namespace nnfuse::codegen {

void plan_pixel_batch(model_plan& plan);
void keep_called_kernels(model_plan& plan);
void derive_storage(model_plan& plan);
bool only_chunks_read_rows(const std::vector<statement>& statements);
std::string over_processes_refusal(const model_plan& plan);

}  // namespace nnfuse::codegen
