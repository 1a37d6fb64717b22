#include "runtime/data/labeled_images.hpp"

#include "runtime/data/data_error.hpp"
#include "runtime/data/idx.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace nnfuse {

labeled_images load_labeled_images(const std::filesystem::path& images, const std::filesystem::path& labels,
                                   std::size_t classes) {
    if (classes == 0) throw std::invalid_argument("load_labeled_images: classes must be >= 1, got 0");

    idx_u8 image_file = read_idx_u8(images);
    if (image_file.dims.size() != 3) {
        throw data_error(fmt::format("{}: expected images of rank 3 (count x height x width), got rank {}",
                                     images.string(), image_file.dims.size()));
    }
    idx_u8 label_file = read_idx_u8(labels);
    if (label_file.dims.size() != 1) {
        throw data_error(
            fmt::format("{}: expected labels of rank 1 (count), got rank {}", labels.string(), label_file.dims.size()));
    }
    if (image_file.dims[0] != label_file.dims[0]) {
        throw data_error(fmt::format("{}: holds {} images, but {} holds {} labels", images.string(), image_file.dims[0],
                                     labels.string(), label_file.dims[0]));
    }
    for (std::size_t i = 0; i < label_file.data.size(); ++i) {
        if (label_file.data[i] >= classes) {
            throw data_error(fmt::format("{}: label {} at index {} is out of range for {} classes (0 to {})",
                                         labels.string(), label_file.data[i], i, classes, classes - 1));
        }
    }

    labeled_images split;
    split.count = image_file.dims[0];
    split.height = image_file.dims[1];
    split.width = image_file.dims[2];
    split.pixels = std::move(image_file.data);
    split.labels = std::move(label_file.data);
    return split;
}

}  // namespace nnfuse
