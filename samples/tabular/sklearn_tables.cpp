#include "samples/tabular/sklearn_tables.hpp"

#include <string>
#include <vector>

#include <fmt/core.h>

#include "runtime/data/csv.hpp"
#include "runtime/data/data_format_error.hpp"

namespace samples {

namespace {

std::vector<std::string> numbered(std::string_view prefix, std::size_t count) {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < count; ++i) names.push_back(fmt::format("{}{}", prefix, i));
    return names;
}

// A scikit-learn table file: a first line with its shape and class names, then rows of features and a target.
nnfuse::table read_sklearn_csv(const std::filesystem::path& file, std::size_t features, nnfuse::target_kind kind) {
    std::vector<std::string> columns = numbered("x", features);
    columns.push_back("target");
    return nnfuse::read_csv(file, {.targets = {"target"}, .kind = kind}, {.skip_lines = 1, .column_names = columns});
}

// Keeps the rows for which keep(i) holds.
template <class Keep>
nnfuse::table select_rows(const nnfuse::table& all, Keep keep) {
    nnfuse::table part = all;
    part.features.clear(), part.class_ids.clear(), part.target_values.clear();
    part.rows = 0;
    for (std::size_t r = 0; r < all.rows; ++r) {
        if (!keep(r)) continue;
        ++part.rows;
        const auto row = all.features.begin() + static_cast<std::ptrdiff_t>(r * all.columns);
        part.features.insert(part.features.end(), row, row + static_cast<std::ptrdiff_t>(all.columns));
        if (!all.class_ids.empty()) part.class_ids.push_back(all.class_ids[r]);
        const auto targets = all.target_values.begin() + static_cast<std::ptrdiff_t>(r * all.target_columns);
        if (!all.target_values.empty())
            part.target_values.insert(part.target_values.end(), targets,
                                      targets + static_cast<std::ptrdiff_t>(all.target_columns));
    }
    return part;
}

}  // namespace

nnfuse::table load_breast_cancer(const std::filesystem::path& dir) {
    return read_sklearn_csv(dir / "breast_cancer.csv", 30, nnfuse::target_kind::float_vector);
}

nnfuse::table load_wine(const std::filesystem::path& dir) {
    return read_sklearn_csv(dir / "wine_data.csv", 13, nnfuse::target_kind::class_id);
}

nnfuse::table load_diabetes(const std::filesystem::path& dir) {
    const std::filesystem::path data_file = dir / "diabetes_data_raw.csv.gz",
                                target_file = dir / "diabetes_target.csv.gz";
    nnfuse::table data = nnfuse::read_csv(
        data_file, {},
        {.delimiter = ' ', .column_names = {"age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"}});
    const nnfuse::table target = nnfuse::read_csv(target_file, {}, {.column_names = {"progression"}});
    if (target.rows != data.rows) {
        throw nnfuse::data_format_error(
            target_file.string(), 0, "", "",
            fmt::format("{} targets for the {} rows of {}", target.rows, data.rows, data_file.string()));
    }
    data.targets = nnfuse::target_kind::float_vector;
    data.target_columns = 1;
    data.target_names = {"progression"};
    data.target_values = target.features;
    return data;
}

train_test split_rows(const nnfuse::table& all) {
    return {select_rows(all, [](std::size_t r) { return r % 5 != 4; }),
            select_rows(all, [](std::size_t r) { return r % 5 == 4; })};
}

}  // namespace samples
