// The invariants of nnfuse::table (runtime/data/table.hpp), checked on every table a fuzz target gets back:
// a violation aborts, which libFuzzer reports as a crash with the input that caused it.
#pragma once

#include "runtime/data/table.hpp"

#include <cmath>
#include <cstdlib>

namespace nnfuse_fuzz {

inline void check_table(const nnfuse::table& t) {
    const auto require = [](bool holds) {
        if (!holds) std::abort();
    };
    require(t.rows > 0 && t.columns > 0);
    require(t.features.size() == t.rows * t.columns && t.feature_names.size() == t.columns);
    for (float x : t.features) require(std::isfinite(x));
    require(t.target_names.size() == t.target_columns);
    switch (t.targets) {
        case nnfuse::target_kind::none:
            require(t.target_columns == 0 && t.class_ids.empty() && t.target_values.empty());
            break;
        case nnfuse::target_kind::class_id:
            require(t.target_columns == 1 && t.class_ids.size() == t.rows && t.target_values.empty());
            for (auto id : t.class_ids) require(id >= 0);
            break;
        case nnfuse::target_kind::float_vector:
            require(t.target_columns >= 1 && t.target_values.size() == t.rows * t.target_columns);
            require(t.class_ids.empty());
            for (float y : t.target_values) require(std::isfinite(y));
            break;
    }
}

}  // namespace nnfuse_fuzz
