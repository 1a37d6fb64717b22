// An experiment: variants of a model trained on Fashion-MNIST under the same conditions, to compare.
//
// Every variant starts from Keras's initial values for the same seed, sees the same batches in the
// same order (the trainer's shuffle depends on the seed and the epoch only), uses a fresh optimizer
// of the same kind, and is evaluated on the test set after every epoch.
//
// add_experiment_flags(): --epochs --batch-size --optimizer --learning-rate --seed --data --limit --out.
// parse_command_line(): nullopt when the program should go on; otherwise the exit status: 0 after
//   --help, 2 after a usage error, reported as one line on stderr ("<program>: error: ...").
// prepare_out_dir(): creates --out if missing and checks it is writable; usage_error if not.
// load_experiment_data(): Fashion-MNIST, the training set cut to --limit; nnfuse::data_error if missing.
// run_variant(): trains one variant; a non-finite loss ends that variant's run early (diverged set),
//   not the experiment. `probe`, when given, is called while the Net's gradients are those of one
//   batch: probe(0) after the first step, probe(e) after the last step of epoch e (epochs from 1).
//   on_epoch(row) follows each epoch (after that epoch's probe). Epoch seconds are training time
//   only (steps and optimizer updates; the test evaluation is not counted).
// write_history_csv(): variant,epoch,loss,accuracy,test_loss,test_accuracy,seconds (epoch from 1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "runtime/data/fashion_mnist.hpp"
#include "runtime/train/network.hpp"
#include "samples/common/cli_checks.hpp"
#include "samples/common/plot.hpp"

namespace samples {

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct experiment_flags {
    std::size_t epochs = 5;
    std::size_t batch_size = 32;
    std::string optimizer = "sgd";
    std::optional<float> learning_rate;  // 0.01 for sgd, 0.001 for adam
    std::uint64_t seed = 42;
    std::string data_dir;
    std::size_t limit = 0;  // 0: every training sample
    std::string out_dir = ".";
    std::string plot_format = "svg";

    float effective_learning_rate() const { return learning_rate.value_or(optimizer == "adam" ? 1e-3f : 0.01f); }
};

void add_experiment_flags(CLI::App& app, experiment_flags& flags);
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv);

std::filesystem::path prepare_out_dir(const experiment_flags& flags);
nnfuse::fashion_mnist_data load_experiment_data(const experiment_flags& flags);

struct epoch_row {
    std::size_t epoch = 0;  // from 1
    double loss = 0, accuracy = 0, test_loss = 0, test_accuracy = 0;
    double seconds = 0;      // wall-clock training time of the epoch
    double cpu_seconds = 0;  // the process's CPU time over the same span (less sensitive to other load)
};

struct variant_run {
    std::string name;
    std::vector<epoch_row> epochs;
    std::string diverged;  // empty, or why training stopped
};

using gradient_probe = std::function<void(std::size_t epoch)>;
using epoch_callback = std::function<void(const epoch_row&)>;

variant_run run_variant(std::string name, nnfuse::network& net, const nnfuse::fashion_mnist_data& data,
                        const experiment_flags& flags, const gradient_probe& probe = {},
                        const epoch_callback& on_epoch = {});

// One line per epoch as run_variant produces it (header_line() first), and the mean seconds.
std::string header_line();
std::string row_line(const std::string& variant, const epoch_row& row);
double mean_seconds(const variant_run& run, bool cpu = false);

void write_history_csv(std::span<const variant_run> runs, const std::filesystem::path& file);

// Loss and accuracy per epoch, train solid and test dashed, one colour per variant (runs[i] gets colour i
// unless colours are given).
figure training_figure(std::span<const variant_run> runs, std::string title, std::span<const int> colors = {});

// Renders, or explains on `note` why not (gnuplot missing or failing): plots are a convenience, the
// CSV files are the record. Returns whether the plot was written.
bool render_or_note(const figure& fig, const std::filesystem::path& file, std::ostream& note);

}  // namespace samples
