// The reference sample: the founding notes' model on Fashion-MNIST.
// Today it prints the model's summary and its batch_normalization variables (--summary-only).
#include <iostream>

#include <CLI/CLI.hpp>

#include "samples/fashion_mnist/model.hpp"

int main(int argc, char** argv) {
    CLI::App app{"nnfuse reference sample: Flatten -> BatchNormalization -> Dense(20, elu) -> Dense(10, softmax)"};
    bool summary_only = false;
    app.add_flag("--summary-only", summary_only, "print the model summary and the BN variables, then exit");
    CLI11_PARSE(app, argc, argv);

    std::cout << nnfuse::summary(fashion_mnist::model);
    std::cout << nnfuse::variables_listing(fashion_mnist::model, "batch_normalization");
    if (summary_only) return 0;
    std::cerr << "fashion_mnist: training is not built yet; only --summary-only works in this version\n";
    return 2;
}
