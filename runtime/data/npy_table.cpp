// NPY tables: read_npy's arrays checked for shape and converted element by element (see npy_table.hpp).
#include "runtime/data/npy_table.hpp"

#include "runtime/data/data_format_error.hpp"
#include "runtime/data/npy.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace nnfuse {
namespace {

std::string shape_text(const std::vector<std::size_t>& shape) {
    if (shape.size() == 1) return fmt::format("({},)", shape[0]);
    return fmt::format("({})", fmt::join(shape, ", "));
}

std::string index_text(const npy_array& array, std::size_t k) {
    if (array.shape.size() == 1) return fmt::format("[{}]", k);
    return fmt::format("[{}, {}]", k / array.shape[1], k % array.shape[1]);
}

// Calls visit(k, value) for every element, with value of the C++ type of the array's dtype.
template <class Visit>
void for_each_element(const npy_array& array, Visit&& visit) {
    const auto run = [&](auto type_tag) {
        using T = decltype(type_tag);
        for (std::size_t k = 0; k < array.size(); ++k) visit(k, array.element<T>(k));
    };
    switch (array.dtype) {
        case npy_dtype::float32:
            return run(float{});
        case npy_dtype::float64:
            return run(double{});
        case npy_dtype::int32:
            return run(std::int32_t{});
        case npy_dtype::int64:
            return run(std::int64_t{});
        case npy_dtype::uint8:
            return run(std::uint8_t{});
    }
}

// The problem with `value` as a float feature or target, or nullptr when `out` holds it.
template <class T>
const char* to_float(T value, float& out) {
    out = static_cast<float>(value);
    if constexpr (std::is_floating_point_v<T>) {
        if (!std::isfinite(value)) return "is not finite (NaN and infinities are not accepted)";
        if (!std::isfinite(out)) return "is outside the range of a float (about 3.4e38)";
    } else {
        // 2^63 as a float is outside int64's range, so the round trip is only tried below it.
        if (out >= 0x1p63f || static_cast<std::int64_t>(out) != static_cast<std::int64_t>(value)) {
            return "is an integer that a float cannot hold exactly (floats hold every integer up to 2^24)";
        }
    }
    return nullptr;
}

template <class T>
bool to_class_id(T value, std::int32_t& id) {
    constexpr auto largest = std::numeric_limits<std::int32_t>::max();
    if constexpr (std::is_floating_point_v<T>) {
        const auto wide = static_cast<double>(value);
        if (!std::isfinite(wide) || wide < 0 || wide > largest || wide != std::floor(wide)) return false;
    } else {
        if constexpr (std::is_signed_v<T>) {
            if (value < 0) return false;
        }
        if (static_cast<std::uint64_t>(value) > static_cast<std::uint64_t>(largest)) return false;
    }
    id = static_cast<std::int32_t>(value);
    return true;
}

[[noreturn]] void fail(const std::filesystem::path& file, std::string value, std::string_view problem) {
    throw data_format_error(file.string(), 0, "", std::move(value), problem);
}

template <class T>
[[noreturn]] void fail_element(const std::filesystem::path& file, const npy_array& array, std::size_t k, T value,
                               std::string_view problem) {
    const std::string text = fmt::format("{}", value);
    fail(file, text, fmt::format("element {} = {} {}", index_text(array, k), text, problem));
}

std::vector<std::string> index_names(std::size_t count) {
    std::vector<std::string> names;
    for (std::size_t k = 0; k < count; ++k) names.push_back(std::to_string(k));
    return names;
}

void convert_values(const std::filesystem::path& file, const npy_array& array, std::vector<float>& out) {
    out.resize(array.size());
    for_each_element(array, [&](std::size_t k, auto value) {
        if (const char* problem = to_float(value, out[k])) fail_element(file, array, k, value, problem);
    });
}

table read_features(const std::filesystem::path& file) {
    const npy_array array = read_npy(file);
    if (array.shape.size() != 2) {
        fail(file, "",
             fmt::format("features must be a 2-D array [rows, features], this one has shape {}: reshape it to "
                         "({}, 1) for one feature per row, or (1, {}) for one row",
                         shape_text(array.shape), array.shape[0], array.shape[0]));
    }
    table out;
    out.rows = array.shape[0];
    out.columns = array.shape[1];
    if (out.rows == 0) fail(file, "", fmt::format("no rows: the features have shape {}", shape_text(array.shape)));
    if (out.columns == 0) {
        fail(file, "", fmt::format("no feature columns: the features have shape {}", shape_text(array.shape)));
    }
    convert_values(file, array, out.features);
    out.feature_names = index_names(out.columns);
    return out;
}

}  // namespace

table read_npy_table(const std::filesystem::path& features) { return read_features(features); }

table read_npy_table(const std::filesystem::path& features, const std::filesystem::path& targets, target_kind kind) {
    if (kind == target_kind::none) {
        throw std::invalid_argument("read_npy_table: a targets file is given but kind is target_kind::none");
    }
    table out = read_features(features);
    const npy_array array = read_npy(targets);
    const std::size_t rows = array.shape[0];
    const std::size_t columns = array.shape.size() == 1 ? 1 : array.shape[1];
    if (rows != out.rows) {
        fail(targets, "",
             fmt::format("{} rows of targets (shape {}), but the features in {} have {} rows", rows,
                         shape_text(array.shape), features.string(), out.rows));
    }
    if (columns == 0) fail(targets, "", fmt::format("no target columns: shape {}", shape_text(array.shape)));
    out.targets = kind;
    out.target_columns = columns;
    out.target_names = index_names(columns);
    if (kind == target_kind::float_vector) {
        convert_values(targets, array, out.target_values);
        return out;
    }
    if (columns != 1) {
        fail(targets, "",
             fmt::format("class ids are one per row, shape ({},) or ({}, 1); this array has shape {}", rows, rows,
                         shape_text(array.shape)));
    }
    out.class_ids.resize(rows);
    for_each_element(array, [&](std::size_t k, auto value) {
        if (!to_class_id(value, out.class_ids[k])) {
            fail_element(targets, array, k, value, "is not a class id (a non-negative integer below 2^31)");
        }
    });
    return out;
}

}  // namespace nnfuse
