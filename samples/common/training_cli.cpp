#include "samples/common/training_cli.hpp"

#include "samples/common/cli_checks.hpp"
#include "samples/common/distributed.hpp"
#include "samples/common/plot.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "runtime/checkpoint/atomic_file.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/checkpoint/checkpoint_error.hpp"
#include "runtime/checkpoint/safetensors.hpp"
#include "runtime/data/data_error.hpp"
#include "runtime/data/fashion_mnist.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/parallel/bn_statistics_groups.hpp"
#include "runtime/train/batch_norm_statistics.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/learning_rate_schedule.hpp"
#include "runtime/train/trainer.hpp"

namespace samples {

namespace {

// Fashion-MNIST's training set: a larger batch is meaningless, and would only make the Net allocate
// gigabytes before anything could report the mistake.
constexpr std::uint64_t max_batch_size = 60000;

void keep_first(nnfuse::labeled_images& set, std::size_t count) {
    if (count == 0 || count >= set.count) return;
    set.count = count;
    set.pixels.resize(count * set.height * set.width);
    set.labels.resize(count);
}

CLI::Validator writable_checkpoint() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            try {
                nnfuse::check_writable(text);
            } catch (const nnfuse::checkpoint_error& error) {
                return error.what();
            }
            return "";
        },
        "FILE");
}

CLI::Validator readable_file() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            std::error_code error;
            if (!std::filesystem::exists(text, error)) return fmt::format("{}: no such file", text);
            if (!std::filesystem::is_regular_file(text, error)) return fmt::format("{}: not a regular file", text);
            return "";
        },
        "FILE");
}

// The optimizer's settings a resumed run should share with the run it continues.
// A schedule's length is part of it: a run resumed with another --epochs decays over other steps.
std::map<std::string, std::string> run_metadata(const training_flags& flags, float learning_rate, std::size_t samples,
                                                std::uint64_t schedule_steps) {
    return {{"optimizer", flags.optimizer},
            {"learning_rate", fmt::format("{}", learning_rate)},
            {"lr_schedule", flags.lr_schedule == "constant"
                                ? flags.lr_schedule
                                : fmt::format("{} over {} steps", flags.lr_schedule, schedule_steps)},
            {"batch_size", std::to_string(flags.batch_size)},
            {"training_samples", std::to_string(samples)}};
}

}  // namespace

void add_training_flags(CLI::App& app, training_flags& flags) {
    app.add_option("--epochs", flags.epochs,
                   "passes over the training set (counted from the start, also with --resume)")
        ->check(whole_number(1, 1'000'000))
        ->capture_default_str();
    app.add_option("--batch-size", flags.batch_size, "samples per step (batch normalization needs at least 2)")
        ->check(
            whole_number(2, max_batch_size,
                         "is too small: batch normalization cannot train on one sample per batch (it needs at least 2 "
                         "values per feature); use 2 or more"))
        ->capture_default_str();
    app.add_option("--optimizer", flags.optimizer, "sgd or adam")
        ->check(one_of({"sgd", "adam"}))
        ->capture_default_str();
    app.add_option("--learning-rate", flags.learning_rate, "default 0.01 for sgd, 0.001 for adam")
        ->check(positive_real());
    app.add_option("--lr-schedule", flags.lr_schedule,
                   "constant, or cosine: the rate decays from --learning-rate to 0 over the run's steps (Keras's "
                   "CosineDecay)")
        ->check(one_of({"constant", "cosine"}))
        ->capture_default_str();
    app.add_option("--seed", flags.seed, "seeds initialization and shuffling")
        ->check(whole_number(0, std::numeric_limits<std::uint64_t>::max()))
        ->capture_default_str();
    app.add_option("--threads", flags.threads,
                   "threads for the training step (default: all cores); a batch runs in chunks of rows (64, or 8 for a "
                   "convolutional network), one thread each, and "
                   "results are the same for any number")
        ->check(whole_number(1, 4096));
    app.add_option("--data", flags.data_dir, "Fashion-MNIST directory (default: Debian's dataset-fashion-mnist)")
        ->check(existing_directory());
    app.add_option("--bn-stats", flags.bn_stats,
                   "inference statistics: moving (averages learned in training) or population (one exact pass over the "
                   "training set)")
        ->check(one_of({"moving", "population"}))
        ->capture_default_str();
    app.add_option("--limit", flags.limit, "train on the first N training samples only")
        ->check(whole_number(1, 1u << 30));
    app.add_option("--history", flags.history_csv, "write the per-epoch history as CSV to this file");
    app.add_option("--plot", flags.plot_file, "draw loss and accuracy per epoch into this .svg or .png (gnuplot)")
        ->check(plot_file());
    app.add_option("--save", flags.save_path,
                   "after each epoch, save a training checkpoint (safetensors: weights, optimizer, BN counters, epoch, "
                   "seed) to this file, atomically")
        ->check(writable_checkpoint());
    app.add_option("--resume", flags.resume_path, "continue the training saved in this checkpoint by --save, exactly")
        ->check(readable_file());
    app.add_flag("--distributed", flags.distributed,
                 "train over the MPI ranks mpirun started (mpirun -np R ... --distributed), with the same bits as one "
                 "process; rank 0 prints and saves");
    app.add_option("--bn-statistics", flags.bn_statistics,
                   "with --distributed, the batch statistics batch normalization trains with: synchronized (the whole "
                   "global batch's, the same bits as one process) or per-rank (each rank's share of the batch, as "
                   "PyTorch DDP without SyncBatchNorm; results depend on the rank count)")
        ->check(one_of({"synchronized", "per-rank"}))
        ->capture_default_str();
    // MPI starts once the command line is known to be valid, before the sample prints anything.
    app.final_callback([&flags] {
        if (!flags.distributed) return;
        try {
            start_distributed();
        } catch (const std::exception& error) {
            throw CLI::ValidationError("--distributed", error.what());
        }
    });
    exit_on_usage_error(app);
}

namespace {

// A failure before training: its exit status and its one line (without the newline).
struct setup_failure {
    int status;
    std::string line;
};

// Restores `net` and `opt` from flags.resume_path and sets where `options` continues; throws setup_failure for a
// checkpoint that cannot continue this run. `notes`: print the notes of a checkpoint trained otherwise.
void resume(const training_flags& flags, nnfuse::network& net, nnfuse::optimizer& opt,
            const std::map<std::string, std::string>& metadata, nnfuse::fit_options& options, bool notes) {
    // Another optimizer's checkpoint would also fail to load (its slots differ), but less readably.
    const nnfuse::safetensors_file header = nnfuse::read_safetensors(flags.resume_path);
    const auto saved_optimizer = header.metadata().find("optimizer");
    if (saved_optimizer != header.metadata().end() && saved_optimizer->second != flags.optimizer) {
        throw setup_failure{exit_usage,
                            fmt::format("error: {} was trained with --optimizer {}; resume it with the same optimizer",
                                        flags.resume_path, saved_optimizer->second)};
    }
    const auto loaded = nnfuse::load_training_checkpoint(flags.resume_path, net, opt);
    if (loaded.progress.epochs_done >= flags.epochs) {
        throw setup_failure{exit_usage, fmt::format("error: {} has already trained {} epochs; --epochs {} asks for no "
                                                    "more (epochs count from the start)",
                                                    flags.resume_path, loaded.progress.epochs_done, flags.epochs)};
    }
    for (const auto& [key, value] : metadata) {
        const auto saved = loaded.metadata.find(key);
        if (notes && saved != loaded.metadata.end() && saved->second != value) {
            fmt::print(stderr,
                       "note: {} was trained with {} {}, this run has {}: it will not match an uninterrupted run\n",
                       flags.resume_path, key, saved->second, value);
        }
    }
    options.initial_epoch = loaded.progress.epochs_done;
    options.seed = loaded.progress.seed;
    std::cout << fmt::format("Resuming from {} after epoch {}\n", flags.resume_path, loaded.progress.epochs_done);
}

// FNV-1a, 64 bits: a digest to compare ranks' inputs by, not a checksum against tampering.
constexpr std::uint64_t fnv_offset_basis = 0xcbf29ce484222325ull;

std::uint64_t fnv1a(std::uint64_t hash, const void* data, std::size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) hash = (hash ^ p[i]) * 0x100000001b3ull;
    return hash;
}

std::string digest_of(const nnfuse::labeled_images& set) {
    std::uint64_t hash = fnv_offset_basis;
    hash = fnv1a(hash, set.pixels.data(), set.pixels.size());
    hash = fnv1a(hash, set.labels.data(), set.labels.size());
    return fmt::format("{} samples, digest {:016x}", set.count, hash);
}

// What every rank of a distributed run must share, one "name value" a line: the model, the flags that change the
// bits, the data and the checkpoint it resumes (by content: each machine may have its own copy).
std::string fingerprint(const nnfuse::network& net, const training_flags& flags, float learning_rate,
                        const nnfuse::fashion_mnist_data& data) {
    const std::string_view architecture = net.architecture();
    std::string resumed = "(none)";
    if (!flags.resume_path.empty()) {
        std::ifstream in(flags.resume_path, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        resumed = fmt::format("a file of {} bytes, digest {:016x}", bytes.size(),
                              fnv1a(fnv_offset_basis, bytes.data(), bytes.size()));
    }
    return fmt::format(
        "model {} (architecture digest {:016x})\n--epochs {}\n--batch-size {}\n--optimizer {}\n--learning-rate {}\n"
        "--lr-schedule {}\n--seed {}\n--bn-stats {}\n--bn-statistics {}\n--limit {}\ntraining data {}\ntest data {}\n"
        "--resume {}\n",
        net.model_name(), fnv1a(fnv_offset_basis, architecture.data(), architecture.size()), flags.epochs,
        flags.batch_size, flags.optimizer, learning_rate, flags.lr_schedule, flags.seed, flags.bn_stats,
        flags.bn_statistics, flags.limit, digest_of(data.train), digest_of(data.test), resumed);
}

// The row counts of an epoch's batches (a last batch of one joins the one before it, as in fit).
std::vector<std::size_t> batch_rows(std::size_t samples, std::size_t batch_size) {
    if (samples <= batch_size) return {samples};
    const std::size_t rest = samples % batch_size;
    if (rest == 0) return {batch_size};
    if (rest == 1) return {batch_size, batch_size + 1};
    return {batch_size, rest};
}

// Ends MPI when run_training returns (every rank has passed its last collective).
struct finish_distributed_at_exit {
    ~finish_distributed_at_exit() { finish_distributed(); }
};

}  // namespace

int run_training(nnfuse::network& net, const training_flags& flags, std::size_t chunk_rows) {
    distributed_session* ranks = nullptr;
    if (flags.distributed) {
        try {
            start_distributed();  // a no-op after the command line started it
        } catch (const std::exception& error) {
            fmt::print(stderr, "error: --distributed: {}\n", error.what());
            return exit_usage;
        }
        ranks = current_distributed();
    }
    const finish_distributed_at_exit finish;
    const bool leader = ranks == nullptr || ranks->leader();

    nnfuse::fashion_mnist_data data;
    const float learning_rate = flags.learning_rate.value_or(flags.optimizer == "adam" ? 1e-3f : 0.01f);
    std::unique_ptr<nnfuse::optimizer> optimizer;
    if (flags.optimizer == "adam") {
        optimizer = std::make_unique<nnfuse::adam>(learning_rate);
    } else {
        optimizer = std::make_unique<nnfuse::sgd>(learning_rate);
    }
    nnfuse::trainer trainer(net, *optimizer);
    nnfuse::fit_options options;
    std::optional<nnfuse::cosine_decay> cosine;
    std::map<std::string, std::string> metadata;
    // Everything that can fail before training, on each rank alone.
    setup_failure failure{0, ""};
    try {
        try {
            data =
                nnfuse::load_fashion_mnist(flags.data_dir.empty() ? nnfuse::fashion_mnist_default_dir : flags.data_dir);
        } catch (const nnfuse::data_error& error) {
            throw setup_failure{exit_usage, fmt::format("error: {}", error.what())};
        }
        keep_first(data.train, flags.limit);
        if (!flags.history_csv.empty() && leader) {
            // Refuse an unwritable path now rather than after the training it would record.
            std::ofstream probe(flags.history_csv, std::ios::app);
            if (!probe) {
                throw setup_failure{exit_usage,
                                    fmt::format("error: cannot write the history file {}", flags.history_csv)};
            }
        }
        nnfuse::initialize_variables(net, flags.seed);
        net.set_threads(flags.threads != 0 ? flags.threads : std::max(1u, std::thread::hardware_concurrency()));
        options.epochs = flags.epochs;
        options.batch_size = flags.batch_size;
        options.seed = flags.seed;
        options.log = leader ? &std::cout : nullptr;
        options.interactive = leader && isatty(STDOUT_FILENO) != 0;
        // The run's steps: a last batch of one joins the one before it (fit's rule), so it adds no step.
        const std::size_t steps_per_epoch =
            data.train.count / flags.batch_size + (data.train.count % flags.batch_size > 1 ? 1 : 0);
        const std::uint64_t schedule_steps = std::max<std::uint64_t>(1, steps_per_epoch * flags.epochs);
        if (flags.lr_schedule == "cosine") {
            cosine.emplace(learning_rate, schedule_steps);
            options.schedule = &*cosine;
        }
        metadata = run_metadata(flags, learning_rate, data.train.count, schedule_steps);
        if (!flags.resume_path.empty()) resume(flags, net, *optimizer, metadata, options, leader);
    } catch (const setup_failure& caught) {
        failure = caught;
    } catch (const std::exception& error) {
        failure = {exit_usage, fmt::format("error: {}", error.what())};
    }
    if (ranks == nullptr && failure.status != 0) {
        fmt::print(stderr, "{}\n", failure.line);
        return failure.status;
    }
    if (ranks != nullptr) {
        // Collective from here on: every rank reaches each check and takes the same branch.
        if (const int status = ranks->first_failure(failure.status, failure.line).second; status != 0) return status;
        const std::string difference = ranks->difference(fingerprint(net, flags, learning_rate, data));
        const auto refuse = [&](const std::string& why) {
            if (leader) fmt::print(stderr, "error: --distributed: {}\n", why);
            return exit_usage;
        };
        if (!difference.empty()) {
            return refuse(difference + ": every rank must run the same model with the same flags and data");
        }
        try {
            ranks->attach(net);
        } catch (const std::invalid_argument& error) {
            return refuse(error.what());
        }
        const std::size_t rows = std::min(flags.batch_size, data.train.count);
        const std::size_t chunks = (rows + chunk_rows - 1) / chunk_rows;
        if (static_cast<std::size_t>(ranks->ranks()) > chunks) {
            return refuse(
                fmt::format("{} ranks, but a batch of {} rows has {} chunk{} of {} rows and a rank computes "
                            "whole chunks: run at most {} rank{}, or use --batch-size {} or more",
                            ranks->ranks(), rows, chunks, chunks == 1 ? "" : "s", chunk_rows, chunks,
                            chunks == 1 ? "" : "s", (ranks->ranks() - 1) * chunk_rows + 1));
        }
        if (flags.bn_statistics == "per-rank") {
            // Refused now rather than at the batch that would leave a rank one row.
            for (const std::size_t batch : batch_rows(data.train.count, flags.batch_size)) {
                for (int r = 0; r < ranks->ranks(); ++r) {
                    const nnfuse::chunk_group share = nnfuse::bn_statistics_groups::group_of(
                        ranks->exchange(), static_cast<std::size_t>(r), (batch + chunk_rows - 1) / chunk_rows, batch,
                        chunk_rows);
                    if (share.rows != 1) continue;
                    return refuse(fmt::format(
                        "--bn-statistics per-rank: rank {}'s share of a batch of {} rows is one row, and batch "
                        "normalization needs at least 2 values per feature: run another --batch-size or rank count",
                        r, batch));
                }
            }
        }
    }
    if (nnfuse::batch_norm_statistics* bn = net.as_batch_norm_statistics(); bn != nullptr) {
        bn->set_batch_statistics(flags.bn_statistics == "per-rank" ? nnfuse::bn_statistics::per_rank
                                                                   : nnfuse::bn_statistics::synchronized);
    }

    if (ranks != nullptr && leader) {
        ranks->say_when_stopped(
            flags.save_path.empty()
                ? "error: rank 0 stopped by mpirun: another rank ended (mpirun names it) or the job was "
                  "cancelled; nothing was saved (--save FILE keeps a checkpoint of each epoch)"
                : fmt::format("error: rank 0 stopped by mpirun: another rank ended (mpirun names it) or the job "
                              "was cancelled; {} holds the last finished epoch (if one finished): continue with "
                              "--resume {}",
                              flags.save_path, flags.save_path));
    }
    // Trains; over ranks, a failure of this rank alone (not the same on every rank, as a diverging loss is) stops
    // every rank rather than leave the others waiting for its chunks.
    const auto fit = [&] {
        if (ranks == nullptr) return trainer.fit(data.train, options);
        try {
            nnfuse::history history = trainer.fit(data.train, options);
            net.set_chunk_exchange(nullptr);
            return history;
        } catch (const nnfuse::training_diverged&) {
            throw;
        } catch (const std::exception& error) {
            fmt::print(stderr, "error: rank {}: {}; stopping every rank\n", ranks->rank(), error.what());
            abort_distributed(exit_usage);
        }
    };
    const auto train = [&] {
        if (!flags.save_path.empty() && leader) {
            options.on_epoch_end = [&](std::size_t epoch, const nnfuse::history&) {
                nnfuse::save_training_checkpoint(flags.save_path, net, *optimizer, {epoch + 1, options.seed}, metadata);
            };
        }
        const nnfuse::history history = fit();
        if (!leader) return;
        if (flags.bn_stats == "population") {
            trainer.population_statistics(data.train, flags.batch_size);
            std::cout << fmt::format("Batch-norm statistics: exact mean and variance of {} training samples\n",
                                     data.train.count);
        }
        if (!flags.history_csv.empty()) history.write_csv(flags.history_csv);
        if (!flags.plot_file.empty()) draw_history(history, flags.plot_file, net.model_name());
        const nnfuse::evaluation test = trainer.evaluate(data.test, flags.batch_size);
        std::cout << fmt::format("Test loss: {:.4f}\nTest accuracy: {:.4f}\n", test.loss, test.accuracy);
    };
    if (leader) return run_with_exit_status(train);
    try {
        train();
    } catch (const nnfuse::training_diverged&) {
        return exit_diverged;  // rank 0 says so: every rank diverges at the same batch
    }
    return 0;
}

}  // namespace samples
