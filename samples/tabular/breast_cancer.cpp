// A tabular sample: scikit-learn's breast cancer (binary: malignant or benign, 30 features), trained by the model
// tabular::breast_cancer (models.hpp).
//   breast_cancer [--epochs 100] [--batch-size 32] [--learning-rate 0.001] [--seed 42] [--data DIR] [--history F]
//   [--plot F]
// Prints the Keras summary, Keras's progress, and last the test metrics (tabular_cli.hpp).
#include <iostream>

#include <CLI/CLI.hpp>

#include "breast_cancer.gen.hpp"
#include "samples/tabular/models.hpp"
#include "samples/tabular/tabular_cli.hpp"

int main(int argc, char** argv) {
    CLI::App app{"nnfuse tabular sample: breast cancer (binary: malignant or benign, 30 features)"};
    samples::tabular_flags flags{.epochs = 100};
    samples::add_tabular_flags(app, flags);
    CLI11_PARSE(app, argc, argv);
    std::cout << nnfuse::summary(tabular::breast_cancer);
    nnfuse::generated::breast_cancer::Net net(flags.batch_size + 1);
    return samples::run_tabular(net, flags, samples::load_breast_cancer, "binary cross-entropy");
}
