#include "samples/common/training_cli.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/core.h>

#include "runtime/data/data_error.hpp"
#include "runtime/data/fashion_mnist.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"

namespace samples {

namespace {

constexpr int exit_usage = 2;
constexpr int exit_diverged = 3;

void keep_first(nnfuse::labeled_images& set, std::size_t count) {
    if (count == 0 || count >= set.count) return;
    set.count = count;
    set.pixels.resize(count * set.height * set.width);
    set.labels.resize(count);
}

}  // namespace

void add_training_flags(CLI::App& app, training_flags& flags) {
    app.add_option("--epochs", flags.epochs, "passes over the training set")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--batch-size", flags.batch_size, "samples per step (batch normalization needs at least 2)")
        ->check(CLI::Range(std::size_t{2}, std::size_t{1} << 20))
        ->capture_default_str();
    app.add_option("--optimizer", flags.optimizer, "sgd or adam")->check(CLI::IsMember({"sgd", "adam"}))->capture_default_str();
    app.add_option("--learning-rate", flags.learning_rate, "default 0.01 for sgd, 0.001 for adam")
        ->check(CLI::PositiveNumber);
    app.add_option("--seed", flags.seed, "seeds initialization and shuffling")->capture_default_str();
    app.add_option("--threads", flags.threads, "worker threads (default: all cores; the step runs on one today)")
        ->check(CLI::PositiveNumber);
    app.add_option("--data", flags.data_dir, "Fashion-MNIST directory (default: Debian's dataset-fashion-mnist)");
    app.add_option("--bn-stats", flags.bn_stats,
                   "inference statistics: moving (averages learned in training) or population (one exact pass over the "
                   "training set)")
        ->check(CLI::IsMember({"moving", "population"}))
        ->capture_default_str();
    app.add_option("--limit", flags.limit, "train on the first N training samples only")->check(CLI::PositiveNumber);
    app.add_option("--history", flags.history_csv, "write the per-epoch history as CSV to this file");
}

int run_training(nnfuse::network& net, const training_flags& flags) {
    nnfuse::fashion_mnist_data data;
    try {
        data = nnfuse::load_fashion_mnist(flags.data_dir.empty() ? nnfuse::fashion_mnist_default_dir : flags.data_dir);
    } catch (const nnfuse::data_error& error) {
        fmt::print(stderr, "error: {}\n", error.what());
        return exit_usage;
    }
    keep_first(data.train, flags.limit);
    if (!flags.history_csv.empty()) {
        // Refuse an unwritable path now rather than after the training it would record.
        std::ofstream probe(flags.history_csv, std::ios::app);
        if (!probe) {
            fmt::print(stderr, "error: cannot write the history file {}\n", flags.history_csv);
            return exit_usage;
        }
    }

    std::unique_ptr<nnfuse::optimizer> optimizer;
    if (flags.optimizer == "adam") {
        optimizer = std::make_unique<nnfuse::adam>(flags.learning_rate.value_or(1e-3f));
    } else {
        optimizer = std::make_unique<nnfuse::sgd>(flags.learning_rate.value_or(0.01f));
    }
    nnfuse::initialize_variables(net, flags.seed);
    nnfuse::trainer trainer(net, *optimizer);
    nnfuse::fit_options options;
    options.epochs = flags.epochs;
    options.batch_size = flags.batch_size;
    options.seed = flags.seed;
    options.log = &std::cout;
    options.interactive = isatty(STDOUT_FILENO) != 0;
    try {
        const nnfuse::history history = trainer.fit(data.train, options);
        if (flags.bn_stats == "population") {
            trainer.population_statistics(data.train, flags.batch_size);
            std::cout << fmt::format("Batch-norm statistics: exact mean and variance of {} training samples\n",
                                     data.train.count);
        }
        if (!flags.history_csv.empty()) history.write_csv(flags.history_csv);
        const nnfuse::evaluation test = trainer.evaluate(data.test, flags.batch_size);
        std::cout << fmt::format("Test loss: {:.4f}\nTest accuracy: {:.4f}\n", test.loss, test.accuracy);
    } catch (const nnfuse::training_diverged& error) {
        fmt::print(stderr, "error: {}\n", error.what());
        return exit_diverged;
    } catch (const std::exception& error) {
        fmt::print(stderr, "error: {}\n", error.what());
        return exit_usage;
    }
    return 0;
}

}  // namespace samples
