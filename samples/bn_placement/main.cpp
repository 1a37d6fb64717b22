// Where does batch normalization go? The reference model's task (Fashion-MNIST, a hidden Dense(20, elu))
// trained three ways from the same seed, batches and budget:
//   no_bn      Dense(20, elu)                                                -> Dense(10, softmax)
//   bn_after   Dense(20, elu) -> BatchNormalization                          -> Dense(10, softmax)
//   bn_before  Dense(20, use_bias=False) -> BatchNormalization -> Activation(elu) -> Dense(10, softmax)
//   bn_placement [--epochs 5] [--limit N] [--optimizer sgd|adam] [--out DIR] ...
// Prints one row per epoch and variant, then test accuracy and loss per epoch side by side, the
// training seconds per epoch, and last "Test accuracy: no_bn 0.xxxx, bn_after 0.xxxx, bn_before 0.xxxx".
// Writes DIR/history.csv and DIR/training.svg.
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include "bn_before_activation.gen.hpp"
#include "bn_placement_bn_after.gen.hpp"
#include "bn_placement_no_bn.gen.hpp"
#include "samples/common/experiment.hpp"

namespace {

template <class Net>
std::unique_ptr<nnfuse::network> make_net(std::size_t max_batch) {
    return std::make_unique<Net>(max_batch);
}

struct variant {
    const char* name;
    const char* layers;
    std::unique_ptr<nnfuse::network> (*make)(std::size_t max_batch);
    int color;  // plot.hpp's palette: no BN vermillion, after blue, before green
};

const variant variants[] = {
    {"no_bn", "Dense(20, elu) -> Dense(10, softmax)", &make_net<nnfuse::generated::bn_placement_no_bn::Net>, 1},
    {"bn_after", "Dense(20, elu) -> BatchNormalization -> Dense(10, softmax)",
     &make_net<nnfuse::generated::bn_placement_bn_after::Net>, 0},
    {"bn_before", "Dense(20, use_bias=False) -> BatchNormalization -> Activation(elu) -> Dense(10, softmax)",
     &make_net<nnfuse::generated::bn_before_activation::Net>, 2},
};

void print_comparison(const std::vector<samples::variant_run>& runs) {
    std::size_t epochs = 0;
    for (const auto& run : runs) epochs = std::max(epochs, run.epochs.size());
    for (const bool accuracy : {true, false}) {
        std::cout << (accuracy ? "\nTest accuracy per epoch\n" : "\nTest loss per epoch\n")
                  << fmt::format("{:>5}", "epoch");
        for (const auto& run : runs) std::cout << fmt::format(" {:>10}", run.name);
        std::cout << "\n";
        for (std::size_t e = 0; e < epochs; ++e) {
            std::cout << fmt::format("{:>5}", e + 1);
            for (const auto& run : runs) {
                if (e < run.epochs.size()) {
                    std::cout << fmt::format(" {:>10.4f}",
                                             accuracy ? run.epochs[e].test_accuracy : run.epochs[e].test_loss);
                } else {
                    std::cout << fmt::format(" {:>10}", "-");
                }
            }
            std::cout << "\n";
        }
    }
    std::cout << "\nTraining seconds per epoch (mean):";
    for (const bool cpu : {false, true}) {
        const double base = samples::mean_seconds(runs.front(), cpu);
        std::cout << (cpu ? "; CPU" : " wall");
        for (const auto& run : runs) {
            const double s = samples::mean_seconds(run, cpu);
            std::cout << fmt::format("{} {} {:.3f}", &run == &runs.front() ? "" : ",", run.name, s);
            if (&run != &runs.front()) std::cout << fmt::format(" ({:+.0f}%)", 100.0 * (s / base - 1.0));
        }
    }
    std::cout << "\n";
}

int run(const samples::experiment_flags& flags) {
    const std::filesystem::path out = samples::prepare_out_dir(flags);
    const nnfuse::fashion_mnist_data data = samples::load_experiment_data(flags);
    std::cout << fmt::format(
        "BN placement on Fashion-MNIST ({} training, {} test samples): {} lr {}, batch {}, seed {}, "
        "{}, the same initial kernels and batches for every variant\n",
        data.train.count, data.test.count, flags.optimizer, flags.effective_learning_rate(), flags.batch_size,
        flags.seed, fmt::format("{} epoch{}", flags.epochs, flags.epochs == 1 ? "" : "s"));
    for (const variant& v : variants) std::cout << fmt::format("  {:<10} Flatten -> {}\n", v.name, v.layers);
    std::cout << "\n" << samples::header_line() << "\n";

    std::vector<samples::variant_run> runs;
    std::vector<int> colors;
    for (const variant& v : variants) {
        const auto net = v.make(flags.batch_size + 1);  // a last batch of one joins the one before it
        auto row = [&](const samples::epoch_row& r) { std::cout << samples::row_line(v.name, r) << std::endl; };
        runs.push_back(samples::run_variant(v.name, *net, data, flags, {}, row));
        if (!runs.back().diverged.empty()) std::cout << v.name << ": " << runs.back().diverged << "\n";
        colors.push_back(v.color);
    }
    print_comparison(runs);

    samples::write_history_csv(runs, out / "history.csv");
    std::cout << "\nWrote " << (out / "history.csv").string() << "\n";
    const std::filesystem::path plot = out / ("training." + flags.plot_format);
    const auto fig = samples::training_figure(
        runs, "Fashion-MNIST, hidden Dense(20, elu): no BN, BN after the activation, BN before it", colors);
    if (samples::render_or_note(fig, plot, std::cout)) std::cout << "Wrote " << plot.string() << "\n";

    std::cout << "Test accuracy:";
    for (const auto& run : runs) {
        std::cout << fmt::format(
                         " {} {}", run.name,
                         run.epochs.empty() ? std::string("-") : fmt::format("{:.4f}", run.epochs.back().test_accuracy))
                  << (&run == &runs.back() ? "\n" : ",");
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"nnfuse sample: no batch normalization, BN after the activation, BN before it, on Fashion-MNIST"};
    samples::experiment_flags flags;
    samples::add_experiment_flags(app, flags);
    if (const auto status = samples::parse_command_line(app, argc, argv)) return *status;
    try {
        return run(flags);
    } catch (const std::exception& error) {
        // A bad flag or data set (usage_error, data_error) and anything else the training throws: one line.
        fmt::print(stderr, "bn_placement: error: {}\n", error.what());
        return samples::exit_usage;
    }
}
