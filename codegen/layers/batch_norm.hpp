// nnfuse::codegen::layers, batch_norm: the generator's module for batch_norm layers (the interface: layer_module.hpp).
#pragma once

#include <optional>
#include <string>

#include "codegen/layers/plan_builder.hpp"

namespace nnfuse::codegen::layers {

bool makes_step(const batch_norm_parameters& layer);
std::optional<activation_kind> element_wise_activation(const batch_norm_parameters& layer);
bool absorbs_activation(const batch_norm_parameters& layer);
bool passes_gradient_back(const batch_norm_parameters& layer);
void init_step(const batch_norm_parameters& layer, step& s);
void plan_training(const batch_norm_parameters& layer, const step& s, plan_builder& b);
void plan_inference(const batch_norm_parameters& layer, const step& s, plan_builder& b);
std::string hyper_parameters(const batch_norm_parameters& layer);

// Shared with bn_dense_fold.cpp: the step's batch statistics ("batch_mean", "batch_var", "inv_std",
// "moving_group_mean", "moving_group_var"), the training
// check of its row count, and the update of its moving statistics.
storage batch_statistic(const step& s, const char* which);
statement statistics_rows_check(const batch_norm_parameters& layer, const step& s, std::string comment);
statement moving_statistics_update(const batch_norm_parameters& layer, const step& s, phase when);

// Shared with bn_dense_fold.cpp: the kernels of the per-chunk statistics (each chunk's moments, their merge in chunk
// order) and the storage of the chunks' records.
struct chunk_statistics {
    static constexpr std::size_t no_kernel = static_cast<std::size_t>(-1);
    std::size_t moments_kernel, merge_kernel;  // moments_kernel: no_kernel when a conv2d's forward takes them
    storage records;
};
chunk_statistics plan_chunk_statistics(const step& s, std::size_t features, plan_builder& b);
// The merge of the chunks' statistics by the step's statistics groups (runtime/parallel/bn_statistics_groups.hpp):
// the batch statistics that normalize this process's chunks, and those the moving statistics follow.
statement statistics_merge(const batch_norm_parameters& layer, const step& s, const chunk_statistics& statistics,
                           plan_builder& b);

}  // namespace nnfuse::codegen::layers
