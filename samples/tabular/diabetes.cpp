// A tabular sample: scikit-learn's diabetes (regression: disease progression, 10 features), trained by the model
// tabular::diabetes (models.hpp).
//   diabetes [--epochs 500] [--batch-size 32] [--learning-rate 0.001] [--seed 42] [--data DIR] [--history F] [--plot F]
// Prints the Keras summary, Keras's progress, and last the test metrics (tabular_cli.hpp).
#include <iostream>

#include <CLI/CLI.hpp>

#include "diabetes.gen.hpp"
#include "samples/tabular/models.hpp"
#include "samples/tabular/tabular_cli.hpp"

int main(int argc, char** argv) {
    CLI::App app{"nnfuse tabular sample: diabetes (regression: disease progression, 10 features)"};
    samples::tabular_flags flags{.epochs = 500};
    samples::add_tabular_flags(app, flags);
    CLI11_PARSE(app, argc, argv);
    std::cout << nnfuse::summary(tabular::diabetes);
    nnfuse::generated::diabetes::Net net(flags.batch_size + 1);
    return samples::run_tabular(net, flags, samples::load_diabetes, "mean squared error");
}
