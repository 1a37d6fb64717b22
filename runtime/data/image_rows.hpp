// nnfuse::image_rows: a uint8 image set (labeled_images.hpp) as a data set (data_set.hpp): each image one row of
// height * width features, pixel / 255 as Keras's Rescaling(1/255), its label a class id. A view: the images must
// outlive it.
//
// pixels() offers the uint8 rows themselves, so that a network with the pixel_training capability trains on them
// without a float copy of the batch (today's fast path); gather_features gives the same floats
// (gather_pixel_rows, runtime/data/pixel_rows.hpp).
// requires: images.count > 0 and height * width > 0 (else std::invalid_argument).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "runtime/data/data_set.hpp"
#include "runtime/data/labeled_images.hpp"

namespace nnfuse {

// Keras's Rescaling(1/255): the floats a uint8 pixel trains as.
inline constexpr float pixel_scale = 1.0f / 255.0f;

class image_rows final : public data_set {
public:
    explicit image_rows(const labeled_images& images);

    std::size_t rows() const override { return images_->count; }
    std::size_t features() const override { return images_->height * images_->width; }
    target_kind targets() const override { return target_kind::class_id; }
    std::size_t targets_per_row() const override { return 1; }

    void gather_features(std::span<const std::uint32_t> rows, float* out) const override;
    void gather_class_ids(std::span<const std::uint32_t> rows, std::int32_t* out) const override;

    pixel_view pixels() const override { return {images_->pixels, features(), pixel_scale}; }

private:
    const labeled_images* images_;
};

}  // namespace nnfuse
