// BN before the activation on Fashion-MNIST: prints the model's summary, trains it like the
// reference sample (same flags) and prints "Test accuracy: 0.xxxx" last.
#include <iostream>

#include <CLI/CLI.hpp>

#include "bn_before_activation.gen.hpp"
#include "samples/bn_before_activation/model.hpp"
#include "samples/common/training_cli.hpp"

int main(int argc, char** argv) {
    CLI::App app{"nnfuse sample: Dense(20, no bias) -> BatchNormalization -> Activation(elu) -> Dense(10, softmax)"};
    samples::training_flags flags;
    samples::add_training_flags(app, flags);
    bool summary_only = false;
    app.add_flag("--summary-only", summary_only, "print the model summary, then exit");
    CLI11_PARSE(app, argc, argv);

    std::cout << nnfuse::summary(bn_before_activation::model);
    if (summary_only) return 0;
    nnfuse::generated::bn_before_activation::Net net(samples::max_batch_for(flags));
    return samples::run_training(net, flags);
}
