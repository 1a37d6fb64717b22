#include "runtime/data/image_rows.hpp"

#include <stdexcept>

#include <fmt/core.h>

#include "runtime/data/pixel_rows.hpp"

namespace nnfuse {

image_rows::image_rows(const labeled_images& images) : images_(&images) {
    if (images.count == 0 || images.height * images.width == 0) {
        throw std::invalid_argument(fmt::format("image_rows: an image set of {} images of {}x{} pixels has no rows",
                                                images.count, images.height, images.width));
    }
    if (images.pixels.size() != images.count * images.height * images.width || images.labels.size() != images.count) {
        throw std::invalid_argument(fmt::format("image_rows: {} pixels and {} labels do not make {} images of {}x{}",
                                                images.pixels.size(), images.labels.size(), images.count, images.height,
                                                images.width));
    }
}

void image_rows::gather_features(std::span<const std::uint32_t> rows, float* out) const {
    gather_pixel_rows(images_->pixels.data(), features(), rows, pixel_scale, out);
}

void image_rows::gather_class_ids(std::span<const std::uint32_t> rows, std::int32_t* out) const {
    for (const std::uint32_t row : rows) *out++ = images_->labels[row];
}

}  // namespace nnfuse
