// Fashion-MNIST (Zalando): 60,000 training and 10,000 test images of 28x28 grey pixels in 10 classes,
// as installed by Debian's package dataset-fashion-mnist.
//
// load_fashion_mnist(dir)
//   reads dir/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz, or the same names without .gz when the
//   compressed file is absent (whatever the name, compression is detected from the content).
//   ensures: train and test are 28x28 images with labels < fashion_mnist_classes.
//   throws:  data_error naming the file: when it (or dir) is missing, the message says that the package
//            dataset-fashion-mnist provides it; otherwise any error of load_labeled_images.
//   The counts are not fixed, so a smaller set in the same format loads too.
#pragma once

#include "runtime/data/labeled_images.hpp"

#include <array>
#include <cstddef>
#include <filesystem>
#include <string_view>

namespace nnfuse {

struct fashion_mnist_data {
    labeled_images train, test;
};

inline constexpr const char* fashion_mnist_default_dir = "/usr/share/datasets/fashion-mnist";
inline constexpr std::size_t fashion_mnist_classes = 10;
inline constexpr std::array<std::string_view, fashion_mnist_classes> fashion_mnist_class_names = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

fashion_mnist_data load_fashion_mnist(const std::filesystem::path& dir = fashion_mnist_default_dir);

}  // namespace nnfuse
