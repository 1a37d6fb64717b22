// The command line and the run of the tabular samples (breast_cancer, wine, diabetes).
//
// add_tabular_flags() declares --epochs --batch-size --learning-rate --seed --threads --data --history --plot
// --no-validation (the history's seconds are then the training alone, as bench/compare times it)
// --early-stopping-patience N (EarlyStopping on val_loss with the best weights restored; validation then comes from
// every fifth training row, so that the test rows stay unseen until the end; not with --no-validation).
// run_tabular(net, flags, load, loss_label): reads the sample's table from flags.data_dir, splits it (split_rows:
//   every fifth row is a test row), fits the model's Normalization layer to the training rows (adapt), initializes
//   the Net from the seed, trains it with Adam (Keras's defaults, learning rate flags.learning_rate) printing
//   Keras's progress with the test rows as validation data, writes the history (--history) and its plot (--plot),
//   and prints the test metrics last: "Test loss", "Test <metric>" and, for a regression, "Test rmse" and
//   "Test R^2".
//   Returns the exit status: 0; 2 for bad input (a data file that is missing, unreadable or malformed: the message
//   names the file, line and column; a data directory that does not exist: the message names the Debian package
//   that installs it); 3 when the loss diverges. Command-line errors exit 2 through exit_on_usage_error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "runtime/data/table.hpp"
#include "runtime/train/network.hpp"
#include "samples/tabular/sklearn_tables.hpp"

namespace samples {

struct tabular_flags {
    std::size_t epochs = 100;
    std::size_t batch_size = 32;
    float learning_rate = 1e-3f;  // Adam's default in Keras
    std::uint64_t seed = 42;
    std::size_t threads = 1;  // tables this small train fastest on one
    std::string data_dir = sklearn_data_dir;
    std::string history_csv = {};
    std::string plot_file = {};
    bool validate = true;  // evaluate the test rows after each epoch (val_loss, ...): --no-validation skips it
    std::optional<std::size_t> early_stopping_patience =
        std::nullopt;  // Keras's EarlyStopping on val_loss, best weights restored
};

void add_tabular_flags(CLI::App& app, tabular_flags& flags);

using table_loader = nnfuse::table (*)(const std::filesystem::path& dir);

int run_tabular(nnfuse::network& net, const tabular_flags& flags, table_loader load, std::string_view loss_label);

}  // namespace samples
