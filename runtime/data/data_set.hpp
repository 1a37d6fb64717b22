// nnfuse::data_set: what the trainer trains on, evaluates and predicts (runtime/train/trainer.hpp): rows of
// float features, each with its target (a class id or a vector of floats) or none. PyTorch's map-style Dataset,
// read a batch of rows at a time.
//
// Implementations: float_rows (views over the caller's arrays, or over a table read from CSV or NPY:
// float_rows.hpp), image_rows (a uint8 image set, read as pixels / 255: image_rows.hpp) and row_range (consecutive
// rows of another set, e.g. Keras's validation_split: row_range.hpp). A set holds (or views) rows in memory; it
// never copies them except into a batch.
//
// Spec of an implementation:
//   rows() > 0; features() > 0 floats per row; targets() is the kind of every row's target, and
//   targets_per_row() is 1 for class_id, the floats per row for float_vector, 0 for none.
//   gather_features(rows, out): out[i * features() + j] = feature j of row rows[i], for each i; every index is
//     < rows() (the caller checks). Writes only out, reads nothing mutable: the trainer calls it from several
//     threads at once, each with its own rows and out.
//   gather_class_ids(rows, out) (class_id sets) and gather_target_values(rows, out) (float_vector sets, row after
//     row): the targets of those rows, same threading rule. Called on a set of the other kind, they throw
//     std::logic_error (the trainer checks the kind first).
//   pixels(): a set whose features are uint8 values times a scale returns them, so that a network with the
//     pixel_training capability (runtime/train/pixel_training.hpp) reads the rows without a float copy; gather_features
//     must then give exactly gather_pixel_rows's floats. Other sets return an empty pixel_view (the default).
//   Every feature and float target is finite (implementations check it when they are built).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

#include "dsl/target_kind.hpp"

namespace nnfuse {

// A set's rows as uint8 values: row r is pixels[r * row_size, (r + 1) * row_size), each value times scale.
struct pixel_view {
    std::span<const std::uint8_t> pixels;  // empty: the set is not made of pixels
    std::size_t row_size = 0;
    float scale = 1.0f;
};

class data_set {
public:
    virtual ~data_set() = default;

    virtual std::size_t rows() const = 0;
    virtual std::size_t features() const = 0;
    virtual target_kind targets() const = 0;
    virtual std::size_t targets_per_row() const = 0;

    virtual void gather_features(std::span<const std::uint32_t> rows, float* out) const = 0;
    virtual void gather_class_ids(std::span<const std::uint32_t> /*rows*/, std::int32_t* /*out*/) const {
        throw std::logic_error("data_set::gather_class_ids: this set's targets are not class ids");
    }
    virtual void gather_target_values(std::span<const std::uint32_t> /*rows*/, float* /*out*/) const {
        throw std::logic_error("data_set::gather_target_values: this set's targets are not float vectors");
    }

    virtual pixel_view pixels() const { return {}; }

protected:
    data_set() = default;
    data_set(const data_set&) = default;
    data_set& operator=(const data_set&) = default;
};

}  // namespace nnfuse
