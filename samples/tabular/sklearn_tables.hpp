// The tabular samples' data: three tables that Debian's python3-sklearn ships under sklearn/datasets/data/, read
// with nnfuse's CSV reader, and the samples' fixed train/test split.
//
// load_breast_cancer(dir): breast_cancer.csv, 569 rows of 30 features and a 0/1 target (1: benign), as a table
//   with one float target per row (binary cross-entropy's targets).
// load_wine(dir): wine_data.csv, 178 rows of 13 features and a class id 0..2.
// load_diabetes(dir): diabetes_data_raw.csv.gz (442 rows of 10 space-separated features) with
//   diabetes_target.csv.gz (one disease-progression value per row) as a table with one float target per row.
//   Each file's first line in the first two is its shape and class names (skipped); none has a header row, so the
//   columns are named here.
//   throws: nnfuse::data_error naming the file, and the line and column where the problem is (read_csv's), also
//   when the two diabetes files differ in their row counts.
// split_rows(table): row i (file order, from 0) is a test row when i % 5 == 4, a training row otherwise: the same
//   80/20 split on every machine, and the one bench/compare/tabular_torch.py uses.
#pragma once

#include <filesystem>
#include <utility>

#include "runtime/data/table.hpp"

namespace samples {

// Where Debian's python3-sklearn installs its data files.
inline constexpr const char* sklearn_data_dir = "/usr/lib/python3/dist-packages/sklearn/datasets/data";

nnfuse::table load_breast_cancer(const std::filesystem::path& dir);
nnfuse::table load_wine(const std::filesystem::path& dir);
nnfuse::table load_diabetes(const std::filesystem::path& dir);

struct train_test {
    nnfuse::table train, test;
};
train_test split_rows(const nnfuse::table& all);

}  // namespace samples
