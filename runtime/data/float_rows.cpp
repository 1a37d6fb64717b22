#include "runtime/data/float_rows.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/core.h>

namespace nnfuse {

namespace {

std::size_t row_count(std::span<const float> x, std::size_t features) {
    if (features == 0) throw std::invalid_argument("float_rows: a row must have at least one feature (features is 0)");
    if (x.empty() || x.size() % features != 0) {
        throw std::invalid_argument(
            fmt::format("float_rows: {} feature values are not a positive whole number of rows of {} features",
                        x.size(), features));
    }
    return x.size() / features;
}

void check_finite(std::span<const float> values, std::size_t columns, const char* what) {
    const auto bad = std::find_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
    if (bad == values.end()) return;
    const auto at = static_cast<std::size_t>(bad - values.begin());
    throw std::invalid_argument(fmt::format("float_rows: {} at row {}, column {} is {}, not a finite number", what,
                                            at / columns, at % columns, *bad));
}

}  // namespace

float_rows::float_rows(std::span<const float> x, std::size_t features)
    : x_(x), features_(features), rows_(row_count(x, features)) {
    check_finite(x_, features_, "the feature");
}

float_rows::float_rows(std::span<const float> x, std::size_t features, std::span<const std::int32_t> class_ids)
    : float_rows(x, features) {
    if (class_ids.size() != rows_) {
        throw std::invalid_argument(
            fmt::format("float_rows: {} class ids for {} rows of features", class_ids.size(), rows_));
    }
    const auto negative = std::find_if(class_ids.begin(), class_ids.end(), [](std::int32_t id) { return id < 0; });
    if (negative != class_ids.end()) {
        throw std::invalid_argument(
            fmt::format("float_rows: the class id of row {} is {}, below 0", negative - class_ids.begin(), *negative));
    }
    kind_ = target_kind::class_id;
    targets_per_row_ = 1;
    class_ids_ = class_ids;
}

float_rows::float_rows(std::span<const float> x, std::size_t features, std::span<const float> targets,
                       std::size_t targets_per_row)
    : float_rows(x, features) {
    if (targets_per_row == 0 || targets.size() != rows_ * targets_per_row) {
        throw std::invalid_argument(fmt::format("float_rows: {} target values are not {} rows of {} targets",
                                                targets.size(), rows_, targets_per_row));
    }
    check_finite(targets, targets_per_row, "the target");
    kind_ = target_kind::float_vector;
    targets_per_row_ = targets_per_row;
    values_ = targets;
}

void float_rows::gather_features(std::span<const std::uint32_t> rows, float* out) const {
    for (const std::uint32_t row : rows) {
        out = std::copy_n(x_.data() + std::size_t{row} * features_, features_, out);
    }
}

void float_rows::gather_class_ids(std::span<const std::uint32_t> rows, std::int32_t* out) const {
    if (kind_ != target_kind::class_id) data_set::gather_class_ids(rows, out);
    for (const std::uint32_t row : rows) *out++ = class_ids_[row];
}

void float_rows::gather_target_values(std::span<const std::uint32_t> rows, float* out) const {
    if (kind_ != target_kind::float_vector) data_set::gather_target_values(rows, out);
    for (const std::uint32_t row : rows) {
        out = std::copy_n(values_.data() + std::size_t{row} * targets_per_row_, targets_per_row_, out);
    }
}

float_rows table_rows(const table& t) {
    switch (t.targets) {
        case target_kind::class_id:
            return float_rows(t.features, t.columns, t.class_ids);
        case target_kind::float_vector:
            return float_rows(t.features, t.columns, t.target_values, t.target_columns);
        case target_kind::none:
            break;
    }
    return float_rows(t.features, t.columns);
}

}  // namespace nnfuse
