// nnfuse::table: rows of float features and their targets, in memory, as the CSV and NPY readers return them.
//
// Invariants (what read_csv and read_npy_table ensure, and what a consumer may rely on):
//   rows > 0 and columns > 0; features.size() == rows * columns, row-major (row r is
//   features[r * columns, (r + 1) * columns)); every feature is finite.
//   feature_names.size() == columns (CSV: the header's names in the selected order; NPY: "0", "1", ...).
//   targets == target_kind::none:     target_columns == 0, class_ids and target_values empty.
//   targets == target_kind::class_id: target_columns == 1, class_ids.size() == rows, every id >= 0;
//                                     target_values empty.
//   targets == target_kind::float_vector: target_columns >= 1, target_values.size() == rows * target_columns
//                                     (row-major), every value finite; class_ids empty.
//   target_names.size() == target_columns.
// The table owns its numbers; a data-set view (std::span over them) is built on top of it, not inside it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dsl/target_kind.hpp"

namespace nnfuse {

struct table {
    std::size_t rows = 0;
    std::size_t columns = 0;
    std::vector<float> features;
    std::vector<std::string> feature_names;

    target_kind targets = target_kind::none;
    std::size_t target_columns = 0;
    std::vector<std::string> target_names;
    std::vector<std::int32_t> class_ids;
    std::vector<float> target_values;
};

}  // namespace nnfuse
