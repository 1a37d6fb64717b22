// nnfuse::float_rows: a data set (data_set.hpp) over float features and targets held by the caller: std::span
// views, no copy. The arrays must outlive the set.
//
// float_rows(x, features)                              rows to predict: no targets
// float_rows(x, features, class_ids)                   classification: one class id per row
// float_rows(x, features, targets, targets_per_row)    regression, binary or one-hot/soft targets: row-major
//   x is row-major: row r is x[r * features, (r + 1) * features).
//   requires (else std::invalid_argument naming the value): features > 0; x.size() a positive multiple of
//             features; class_ids.size() or targets.size() / targets_per_row equal to the row count, and
//             targets_per_row > 0; every feature and target finite (the first that is not is named by row and
//             column); every class id >= 0 (the trainer checks the upper bound against its model).
// table_rows(t): the same view over a table read by read_csv or read_npy_table (runtime/data/table.hpp); the table
//   must outlive the view.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "runtime/data/data_set.hpp"
#include "runtime/data/table.hpp"

namespace nnfuse {

class float_rows final : public data_set {
public:
    float_rows(std::span<const float> x, std::size_t features);
    float_rows(std::span<const float> x, std::size_t features, std::span<const std::int32_t> class_ids);
    float_rows(std::span<const float> x, std::size_t features, std::span<const float> targets,
               std::size_t targets_per_row);

    std::size_t rows() const override { return rows_; }
    std::size_t features() const override { return features_; }
    target_kind targets() const override { return kind_; }
    std::size_t targets_per_row() const override { return targets_per_row_; }

    void gather_features(std::span<const std::uint32_t> rows, float* out) const override;
    void gather_class_ids(std::span<const std::uint32_t> rows, std::int32_t* out) const override;
    void gather_target_values(std::span<const std::uint32_t> rows, float* out) const override;

private:
    std::span<const float> x_;
    std::size_t features_ = 0, rows_ = 0;
    target_kind kind_ = target_kind::none;
    std::size_t targets_per_row_ = 0;
    std::span<const std::int32_t> class_ids_;
    std::span<const float> values_;
};

float_rows table_rows(const table& t);

}  // namespace nnfuse
