// The reference sample: the founding notes' model trained on Fashion-MNIST.
//   fashion_mnist [--epochs 5] [--batch-size 32] [--optimizer sgd|adam] [--bn-profile keras|torch] ...
// Prints the Keras summary, the batch_normalization variables, Keras's progress, and last
// "Test accuracy: 0.xxxx". --summary-only stops after the variables.
#include <iostream>

#include <CLI/CLI.hpp>

#include "fashion_mnist.gen.hpp"
#include "fashion_mnist_torch.gen.hpp"
#include "samples/common/training_cli.hpp"
#include "samples/fashion_mnist/model.hpp"

namespace {

template <class Net, class Model>
int train(const Model& model, const samples::training_flags& flags, bool summary_only) {
    std::cout << nnfuse::summary(model);
    std::cout << nnfuse::variables_listing(model, "batch_normalization");
    if (summary_only) return 0;
    Net net(samples::max_batch_for(flags));
    return samples::run_training(net, flags);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "nnfuse reference sample: Flatten -> BatchNormalization -> Dense(20, elu) -> Dense(10, softmax) on "
        "Fashion-MNIST"};
    samples::training_flags flags;
    samples::add_training_flags(app, flags);
    std::string bn_profile = "keras";
    bool summary_only = false;
    app.add_option("--bn-profile", bn_profile, "batch-norm rules: keras (momentum 0.99, eps 1e-3) or torch (0.1, 1e-5)")
        ->check(CLI::IsMember({"keras", "torch"}))
        ->capture_default_str();
    app.add_flag("--summary-only", summary_only, "print the model summary and the BN variables, then exit");
    CLI11_PARSE(app, argc, argv);

    if (bn_profile == "torch") {
        return train<nnfuse::generated::fashion_mnist_torch::Net>(fashion_mnist::torch_model, flags, summary_only);
    }
    return train<nnfuse::generated::fashion_mnist::Net>(fashion_mnist::model, flags, summary_only);
}
