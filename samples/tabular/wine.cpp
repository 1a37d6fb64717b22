// A tabular sample: scikit-learn's wine (3 classes, 13 features), trained by the model tabular::wine (models.hpp).
//   wine [--epochs 100] [--batch-size 32] [--learning-rate 0.001] [--seed 42] [--data DIR] [--history F] [--plot F]
// Prints the Keras summary, Keras's progress, and last the test metrics (tabular_cli.hpp).
#include <iostream>

#include <CLI/CLI.hpp>

#include "samples/tabular/models.hpp"
#include "samples/tabular/tabular_cli.hpp"
#include "wine.gen.hpp"

int main(int argc, char** argv) {
    CLI::App app{"nnfuse tabular sample: wine (3 classes, 13 features)"};
    samples::tabular_flags flags{.epochs = 100};
    samples::add_tabular_flags(app, flags);
    CLI11_PARSE(app, argc, argv);
    std::cout << nnfuse::summary(tabular::wine);
    nnfuse::generated::wine::Net net(flags.batch_size + 1);
    return samples::run_tabular(net, flags, samples::load_wine, "cross-entropy");
}
