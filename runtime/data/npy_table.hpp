// NPY tables: a features array and, optionally, a targets array (two .npy files) into a table (table.hpp).
//
// read_npy_table(features)                  a table without targets
// read_npy_table(features, targets, kind)   a table with class ids (kind class_id) or values (kind float_vector)
//   requires: kind != target_kind::none (else std::invalid_argument, a mistake in the program).
//   ensures:  the table's invariants; features come from a rank-2 array [rows, columns], targets from a rank-1
//             array [rows] (one target per row) or a rank-2 array [rows, k]; feature_names are "0", "1", ...
//             and target_names too. float32 is taken as is, float64 rounded to the nearest float, integers
//             converted when the float holds them exactly. Class ids come from one column ([rows] or
//             [rows, 1]) of integers, or of floats that are whole numbers, in 0 .. 2^31 - 1.
//   throws:   data_error from read_npy (npy.hpp) for a file that is not a readable NPY array; otherwise a
//             data_format_error naming the file for: features of rank 1 (ambiguous: one row or one column),
//             zero rows or zero columns, a row count of the targets that differs from the features' (naming
//             both files and counts), class ids of more than one column, and an element (named by its [row,
//             column] index and value) that is NaN or infinite, outside the float range, an integer a float
//             cannot hold exactly, or a class id that is not a non-negative integer.
#pragma once

#include "runtime/data/table.hpp"

#include <filesystem>

namespace nnfuse {

table read_npy_table(const std::filesystem::path& features);
table read_npy_table(const std::filesystem::path& features, const std::filesystem::path& targets, target_kind kind);

}  // namespace nnfuse
