// A convolutional network with batch normalization over channels, trained on Fashion-MNIST
// (samples/fashion_mnist_cnn/model.hpp):
//   fashion_mnist_cnn [--epochs 5] [--batch-size 64] [--optimizer adam|sgd] [--lr-schedule cosine|constant] ...
// Prints the Keras summary, Keras's progress, and last "Test accuracy: 0.xxxx". --summary-only stops after the
// summary. The flags are the reference sample's (samples/common/training_cli.hpp) with this model's defaults.
#include <iostream>

#include <CLI/CLI.hpp>

#include "fashion_mnist_cnn.gen.hpp"
#include "samples/common/training_cli.hpp"
#include "samples/fashion_mnist_cnn/model.hpp"

int main(int argc, char** argv) {
    CLI::App app{
        "nnfuse convolutional sample: [Conv2D -> BatchNormalization -> ReLU] x 2 -> MaxPooling2D, twice, then "
        "Flatten -> Dense(10, softmax) on Fashion-MNIST"};
    samples::training_flags flags;
    flags.epochs = 5;
    flags.batch_size = 64;
    flags.optimizer = "adam";
    flags.lr_schedule = "cosine";
    samples::add_training_flags(app, flags);
    bool summary_only = false;
    app.add_flag("--summary-only", summary_only, "print the model summary, then exit");
    CLI11_PARSE(app, argc, argv);

    std::cout << nnfuse::summary(fashion_mnist_cnn::model);
    if (summary_only) return 0;
    nnfuse::generated::fashion_mnist_cnn::Net net(samples::max_batch_for(flags));
    return samples::run_training(net, flags);
}
