// Checkpoints of a network: its variables (weights), or everything an exact resume of fit() needs,
// as one safetensors file (safetensors.hpp) written atomically (atomic_file.hpp).
//
// Tensors (F32 unless said):
//   "<Keras variable name>"               every variable of the network, e.g. `batch_normalization/gamma:0`
//                                         (784,), `dense/kernel:0` (784, 20) in Keras's (inputs, units) order
//   training checkpoints only:
//   "optimizer/<param>/<slot>"            each optimizer slot (optimizer.hpp state()), the param's shape,
//                                         e.g. `optimizer/dense/kernel:0/m`
//   "optimizer/iterations"                I64 (), the optimizer's step count (Adam's bias correction)
//   "training/<bn layer>/batches_seen"    I64 (), each BN layer's count of training batches (torch's
//                                         cumulative average; PyTorch's num_batches_tracked)
// __metadata__ (strings): "schema" ("nnfuse.checkpoint/1"), "nnfuse_version", "content" ("weights" or
//   "training"), "model" (model_name()), "architecture" (architecture(): layers, shapes and options,
//   one per line), "bn_profiles" ("<bn layer>=keras|torch", comma-separated); training checkpoints add
//   "epochs_done" and "seed" (decimal), which with fit()'s (seed, epoch) shuffling are the whole RNG state,
//   and, for a network with randomness() (dropout), "random_seed" and "random_step" (decimal, its random_state),
//   and whatever extra_metadata the caller adds (e.g. the optimizer's name and learning rate).
//   With callbacks (fit_callbacks.hpp's callback_set; a schedule has no state of its own, the optimizer's
//   iterations give its rate): "early_stopping/{monitor,wait,best,best_epoch,stopped_epoch,best_weights}" and
//   "reduce_lr_on_plateau/{monitor,wait,best,cooldown_counter,learning_rate}" (decimal; doubles in their shortest
//   round-trip form, "nan" for no best yet; best_weights "saved" or "none"), and the tensors
//   "callbacks/early_stopping/best_weights/<variable>" (each variable's shape) when best weights were copied.
//
// save_weights / save_training_checkpoint
//   requires: for training checkpoints, `opt` is the optimizer that trains `net` (its slots are created
//             zeroed by prepare() if it has not stepped yet). extra_metadata must not reuse a key above.
//   ensures:  the file is replaced atomically and durably; a failure throws checkpoint_error and leaves
//             the old file.
// load_weights(file, net)
//   ensures:  every variable of `net` is set from the file; the training tensors ("optimizer/...",
//             "training/...") are ignored, so both kinds of checkpoint load.
// load_training_checkpoint(file, net, opt)
//   ensures:  variables, optimizer slots and iterations, BN batch counters and the random state (if the network has
//             one; a file without "random_seed"/"random_step" gives seed = "seed" and step = the optimizer's
//             iterations, what fit() would have left) are set; returns the
//             progress and metadata to resume fit() with (initial_epoch = epochs_done, seed = seed).
//   With callbacks: each one the file has state for continues from it (a different monitor is a checkpoint_error;
//   reduce_lr_on_plateau also sets the optimizer's rate); one the file has none for starts afresh (begin()). A file's
//   callback state for a callback not given is ignored.
//   Both loads are all or nothing and throw checkpoint_error "<file>: ..." for any defect of the file
//   (safetensors.hpp), and, when it does not fit, one message listing every missing tensor, every extra
//   tensor and every tensor of the wrong dtype or shape, not just the first. A training load also
//   refuses a weights-only file and a file whose "architecture" differs from the network's (an exact
//   resume of another model is impossible; the message quotes the first differing line).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "runtime/optim/optimizer.hpp"
#include "runtime/train/fit_callbacks.hpp"
#include "runtime/train/network.hpp"

namespace nnfuse {

struct training_progress {
    std::uint64_t epochs_done = 0;  // the resumed fit()'s initial_epoch
    std::uint64_t seed = 0;         // fit_options::seed: epoch e is shuffled from (seed, e)
};

struct loaded_training_checkpoint {
    training_progress progress;
    std::map<std::string, std::string> metadata;  // all of it, extra_metadata included
};

void save_weights(const std::filesystem::path& file, network& net);
void load_weights(const std::filesystem::path& file, network& net);

void save_training_checkpoint(const std::filesystem::path& file, network& net, optimizer& opt,
                              const training_progress& progress,
                              const std::map<std::string, std::string>& extra_metadata = {},
                              const callback_set& callbacks = {});
loaded_training_checkpoint load_training_checkpoint(const std::filesystem::path& file, network& net, optimizer& opt,
                                                    const callback_set& callbacks = {});

}  // namespace nnfuse
