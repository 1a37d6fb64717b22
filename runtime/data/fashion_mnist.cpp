#include "runtime/data/fashion_mnist.hpp"

#include "runtime/data/data_error.hpp"

#include <fmt/format.h>

#include <string>
#include <system_error>

namespace nnfuse {
namespace {

constexpr std::string_view package_hint =
    "the Debian package dataset-fashion-mnist provides it (apt-get install dataset-fashion-mnist)";

// dir/<stem>.gz if it exists, else dir/<stem>; neither is a data_error that names both.
std::filesystem::path find_split_file(const std::filesystem::path& dir, std::string_view stem) {
    std::error_code ignored;
    const std::filesystem::path compressed = dir / fmt::format("{}.gz", stem);
    if (std::filesystem::exists(compressed, ignored)) return compressed;
    const std::filesystem::path raw = dir / std::string(stem);
    if (std::filesystem::exists(raw, ignored)) return raw;
    throw data_error(fmt::format("{}: no such file (nor {}); {}", compressed.string(), raw.string(), package_hint));
}

labeled_images load_split(const std::filesystem::path& dir, std::string_view prefix) {
    const auto images = find_split_file(dir, fmt::format("{}-images-idx3-ubyte", prefix));
    const auto labels = find_split_file(dir, fmt::format("{}-labels-idx1-ubyte", prefix));
    labeled_images split = load_labeled_images(images, labels, fashion_mnist_classes);
    if (split.height != 28 || split.width != 28) {
        throw data_error(fmt::format("{}: Fashion-MNIST images are 28x28, this file holds {}x{}", images.string(),
                                     split.height, split.width));
    }
    return split;
}

}  // namespace

fashion_mnist_data load_fashion_mnist(const std::filesystem::path& dir) {
    std::error_code error;
    if (!std::filesystem::is_directory(dir, error)) {
        throw data_error(fmt::format("{}: no such directory, expected the Fashion-MNIST files in it; {}", dir.string(),
                                     package_hint));
    }
    fashion_mnist_data data;
    data.train = load_split(dir, "train");
    data.test = load_split(dir, "t10k");
    return data;
}

}  // namespace nnfuse
