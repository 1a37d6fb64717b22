// The state of fit's callbacks in a training checkpoint (checkpoint.hpp documents the keys and tensors).
//
// add_callback_state: writes the optimizer's rate ("optimizer/learning_rate") and each given callback's state into
//   the metadata, and early stopping's best weights as tensors "callbacks/early_stopping/best_weights/<variable>"
//   (views of the callback's own copies, valid until it changes).
// read_callback_state: reads the state of each given callback the file has (checking its monitor), adding the best
//   weights' tensors to `tensors` so that the caller checks and copies them with the rest; changes nothing else.
// apply_callback_state: after every check passed: each given callback continues from the file's state, or begins
//   afresh when the file has none; reduce_lr_on_plateau's rate goes back into the optimizer.
// Errors are checkpoint_error naming the file and key (a different monitor, a malformed value), or
//   std::invalid_argument for best weights that do not belong to the network being saved.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/checkpoint/checkpoint_fields.hpp"
#include "runtime/checkpoint/safetensors.hpp"
#include "runtime/optim/optimizer.hpp"
#include "runtime/train/fit_callbacks.hpp"
#include "runtime/train/network.hpp"

namespace nnfuse {

// Tensors of callbacks: ignored by a load that is given no callback to restore.
inline constexpr std::string_view callback_tensors_prefix = "callbacks/";

struct loaded_callback_state {
    std::optional<early_stopping_state> early_stop;
    std::optional<reduce_lr_on_plateau_state> reduce_lr;
    std::optional<float> learning_rate;  // with reduce_lr only: the rate it had set
};

void add_callback_state(const callback_set& callbacks, network& net, const optimizer& opt,
                        std::map<std::string, std::string>& metadata,
                        std::vector<checkpoint_fields::expected_tensor>& tensors);
loaded_callback_state read_callback_state(const safetensors_file& file, const callback_set& callbacks, network& net,
                                          std::vector<checkpoint_fields::expected_tensor>& tensors);
void apply_callback_state(loaded_callback_state& loaded, const callback_set& callbacks, optimizer& opt);

}  // namespace nnfuse
