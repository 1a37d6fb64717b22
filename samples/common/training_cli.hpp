// The command line the training samples share (CLI11), its checks, and the run around a model.
//
// add_training_flags() declares --epochs --batch-size --optimizer --learning-rate --lr-schedule --seed --threads
// --data --bn-stats --limit --history --save --resume --distributed --bn-statistics; run_training() loads
// Fashion-MNIST, initializes the Net (or restores it from --resume), trains, saves a training checkpoint after each
// epoch (--save), optionally recomputes BN statistics over the training set, and prints the test accuracy.
// --resume FILE continues a run exactly: weights, optimizer state, BN counters, the epoch and the
// shuffling seed come from FILE (--epochs still counts from the start, like Keras's epochs with
// initial_epoch), so 2 epochs + --resume to 3 give the same bits as 3 epochs straight.
// Every user error is one line on stderr and exit status 2, never a crash or a hang: a bad flag value
// (zero, negative or non-numeric counts, a batch size of 1, which batch normalization cannot train on),
// an unknown flag, a missing data directory, an unwritable --save or --history path, a --resume file
// that is missing, defective or of another model. A diverging loss (not finite) is exit status 3,
// naming the epoch and batch. --help exits 0.
// --distributed (`mpirun -np R sample --distributed`, docs/distributed.md) trains over the MPI ranks with the same
// bits as one process: MPI starts when the command line is parsed (samples/common/distributed.hpp), rank 0 alone
// prints and writes --save/--history/--plot, every rank reads --resume. Before training, the ranks agree, each a
// one-line error and exit status 2 on rank 0 (or on the lowest failing rank): a rank's setup failed; ranks differ in
// model, flags (not --threads, --save, --history, --plot, --data), training data or --resume file; the model's plan
// refuses an exchange; more ranks than a batch has chunks. A failure of one rank while training stops every rank
// (MPI_Abort). Without MPI in the build, --distributed is a usage error.
// --bn-statistics per-rank (with --distributed; docs/distributed.md): each rank normalizes its share of a batch with
// that share's own statistics (PyTorch DDP without SyncBatchNorm); the ranks must agree on it (fingerprint), and a
// rank count that would leave a rank one row of some batch is refused before training. One process: no change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "runtime/train/network.hpp"

namespace samples {

struct training_flags {
    std::size_t epochs = 5;
    std::size_t batch_size = 32;
    std::string optimizer = "sgd";
    std::optional<float> learning_rate;    // 0.01 for sgd, 0.001 for adam
    std::string lr_schedule = "constant";  // or "cosine": Keras's CosineDecay from it to 0 over the run's steps
    std::uint64_t seed = 42;
    std::size_t threads = 0;  // 0: all cores
    std::string data_dir;
    std::string bn_stats = "moving";
    std::size_t limit = 0;  // 0: every training sample
    std::string history_csv;
    std::string plot_file;     // .svg or .png: loss and accuracy per epoch
    std::string save_path;     // training checkpoint written after each epoch (atomically)
    std::string resume_path;   // training checkpoint to continue from
    bool distributed = false;  // train over the MPI ranks of mpirun
    // Over ranks, BN's batch statistics: "synchronized" (the whole global batch's) or "per-rank" (each rank's share's)
    std::string bn_statistics = "synchronized";
};

// Also makes every command-line error of `app` one line and exit status 2 (see training_cli.cpp).
void add_training_flags(CLI::App& app, training_flags& flags);

// Trains `net` (built for flags.batch_size + 1 rows, cutting batches into chunks of chunk_rows rows) and prints
// "Test accuracy: 0.xxxx" last. Returns the process exit status.
int run_training(nnfuse::network& net, const training_flags& flags, std::size_t chunk_rows);

// A generated Net knows its chunk rows.
template <class Net>
int run_training(Net& net, const training_flags& flags) {
    return run_training(net, flags, Net::chunk_rows);
}

// max_batch for a Net that trains with these flags (a last batch of one joins the one before it).
inline std::size_t max_batch_for(const training_flags& flags) { return flags.batch_size + 1; }

}  // namespace samples
