#include "samples/tabular/tabular_cli.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>

#include <fmt/core.h>

#include "runtime/data/data_error.hpp"
#include "runtime/data/float_rows.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/train/adapt.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"
#include "samples/common/cli_checks.hpp"
#include "samples/common/plot.hpp"

namespace samples {

namespace {

constexpr std::uint64_t max_batch_size = 1u << 16;

}  // namespace

void add_tabular_flags(CLI::App& app, tabular_flags& flags) {
    app.add_option("--epochs", flags.epochs, "passes over the training rows")
        ->check(whole_number(1, 1'000'000))
        ->capture_default_str();
    app.add_option("--batch-size", flags.batch_size, "rows per step (batch normalization needs at least 2)")
        ->check(whole_number(2, max_batch_size, "is too small: batch normalization needs at least 2 rows per batch"))
        ->capture_default_str();
    app.add_option("--learning-rate", flags.learning_rate, "Adam's learning rate")
        ->check(positive_real())
        ->capture_default_str();
    app.add_option("--seed", flags.seed, "seeds initialization and shuffling")
        ->check(whole_number(0, std::numeric_limits<std::uint64_t>::max()))
        ->capture_default_str();
    app.add_option("--threads", flags.threads, "threads for the training step (results are the same for any number)")
        ->check(whole_number(1, 4096))
        ->capture_default_str();
    app.add_option("--data", flags.data_dir, "directory of scikit-learn's data files (Debian's python3-sklearn)")
        ->capture_default_str();
    app.add_option("--history", flags.history_csv, "write the per-epoch history as CSV to this file");
    app.add_option("--plot", flags.plot_file, "draw the loss and the metric per epoch into this .svg or .png (gnuplot)")
        ->check(plot_file());
    app.add_flag("--no-validation{false}", flags.validate, "do not evaluate the test rows after each epoch");
    app.add_option("--early-stopping-patience", flags.early_stopping_patience,
                   "stop when val_loss has not improved for this many epochs and keep the best epoch's weights "
                   "(Keras's EarlyStopping); the validation rows are then every fifth training row, not the test rows")
        ->check(whole_number(0, 1'000'000));
    app.callback([&flags] {
        if (flags.early_stopping_patience && !flags.validate) {
            throw CLI::ValidationError("--early-stopping-patience",
                                       "watches val_loss, which --no-validation turns off; give one of them");
        }
    });
    exit_on_usage_error(app);
}

int run_tabular(nnfuse::network& net, const tabular_flags& flags, table_loader load, std::string_view loss_label) {
    std::error_code missing;
    if (!std::filesystem::is_directory(flags.data_dir, missing)) {
        fmt::print(stderr,
                   "error: {}: no such directory; scikit-learn's data files come with Debian's python3-sklearn "
                   "(apt-get install python3-sklearn), or give their directory with --data\n",
                   flags.data_dir);
        return exit_usage;
    }
    train_test data;
    try {
        data = split_rows(load(flags.data_dir));
    } catch (const nnfuse::data_error& error) {
        fmt::print(stderr, "error: {}\n", error.what());
        return exit_usage;
    }
    if (!flags.history_csv.empty() && !std::ofstream(flags.history_csv, std::ios::app)) {
        fmt::print(stderr, "error: cannot write the history file {}\n", flags.history_csv);
        return exit_usage;
    }
    std::cout << fmt::format("{} training rows, {} test rows (every fifth row), {} features\n", data.train.rows,
                             data.test.rows, data.train.columns);
    return run_with_exit_status([&] {
        // Early stopping chooses an epoch by val_loss, so its validation rows must not be the test rows: every fifth
        // training row validates, the rest train.
        const std::optional<train_test> fit_split =
            flags.early_stopping_patience ? std::optional(split_rows(data.train)) : std::nullopt;
        const nnfuse::float_rows train = nnfuse::table_rows(fit_split ? fit_split->train : data.train),
                                 test = nnfuse::table_rows(data.test);
        const std::optional<nnfuse::float_rows> validation =
            fit_split ? std::optional(nnfuse::table_rows(fit_split->test)) : std::nullopt;
        nnfuse::initialize_variables(net, flags.seed);
        nnfuse::adapt(net, train);  // standardization from the training rows only
        net.set_threads(flags.threads);
        nnfuse::adam optimizer(flags.learning_rate);
        nnfuse::trainer trainer(net, optimizer);
        std::optional<nnfuse::early_stopping> stopper;
        if (flags.early_stopping_patience) {
            stopper.emplace(nnfuse::early_stopping_options{
                .monitor = "val_loss", .patience = *flags.early_stopping_patience, .restore_best_weights = true});
        }
        const nnfuse::fit_options options{.epochs = flags.epochs,
                                          .batch_size = flags.batch_size,
                                          .seed = flags.seed,
                                          .validation_data = validation       ? &*validation
                                                             : flags.validate ? &test
                                                                              : nullptr,
                                          .log = &std::cout,
                                          .interactive = isatty(fileno(stdout)) != 0,
                                          .early_stop = stopper ? &*stopper : nullptr};
        if (fit_split) {
            std::cout << fmt::format("early stopping on val_loss of {} validation rows (every fifth training row)\n",
                                     fit_split->test.rows);
        }
        const nnfuse::history history = trainer.fit(train, options);
        if (!flags.history_csv.empty()) history.write_csv(flags.history_csv);
        const nnfuse::evaluation result = trainer.evaluate(test, flags.batch_size);
        if (!flags.plot_file.empty()) {
            draw_history(history, flags.plot_file, net.model_name(), result.metric_name, loss_label);
        }
        std::cout << fmt::format("Test loss: {:.4f}\nTest {}: {:.4f}\n", result.loss, result.metric_name,
                                 result.metric);
        if (result.metric_name == "mae") {
            std::cout << fmt::format("Test rmse: {:.4f}\nTest R^2: {:.4f}\n", result.rmse, result.r_squared);
        }
    });
}

}  // namespace samples
