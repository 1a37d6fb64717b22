// labeled_images: one split (train or test) of an image classification set, as read from a pair of IDX
// files (images rank 3: count x height x width, labels rank 1: count).
//
// load_labeled_images(images, labels, classes)
//   requires: classes >= 1 (else std::invalid_argument).
//   ensures:  pixels.size() == count*height*width (row-major, raw 0..255; the consumer scales by 1/255),
//             labels.size() == count, every label < classes.
//   throws:   data_error from read_idx_u8, or naming the file when the images are not rank 3, the labels
//             not rank 1, the counts differ (both files named), or a label is out of range (index and
//             value named).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

namespace nnfuse {

struct labeled_images {
    std::size_t count = 0, height = 0, width = 0;
    std::vector<std::uint8_t> pixels;  // count*height*width, row-major
    std::vector<std::uint8_t> labels;  // count, each < classes
};

labeled_images load_labeled_images(const std::filesystem::path& images, const std::filesystem::path& labels,
                                   std::size_t classes);

}  // namespace nnfuse
