// nnfuse::data_format_error: a data_error that also says where in the file the problem is.
//
// Contract: what() is "<file>: <where>: <problem>" (data_error's "<file>: <problem>" form), where <where> is
// "line N", "line N, column \"name\"" or empty, and the cell text, when there is one, is quoted in <problem> with
// escapes (quoted_cell). The accessors give the same facts to a program (a CLI that points at the line, a test):
// file() always; line() is 1-based, 0 when the problem has no line (a missing column, an NPY header);
// column() and value() are empty when the problem has none.
#pragma once

#include "runtime/data/data_error.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace nnfuse {

// A cell's text as it appears in a message: quoted, with escapes for quotes, control and non-ASCII bytes, and
// cut after 40 bytes, so that a megabyte-long or binary cell still gives a one-line message.
inline std::string quoted_cell(std::string_view text) {
    constexpr std::size_t shown = 40;
    if (text.size() <= shown) return fmt::format("{:?}", text);
    return fmt::format("{:?}... ({} bytes)", text.substr(0, shown), text.size());
}

class data_format_error : public data_error {
public:
    data_format_error(std::string file, std::size_t line, std::string column, std::string value,
                      std::string_view problem)
        : data_error(compose(file, line, column, problem)),
          file_(std::move(file)),
          line_(line),
          column_(std::move(column)),
          value_(std::move(value)) {}

    const std::string& file() const noexcept { return file_; }
    std::size_t line() const noexcept { return line_; }
    const std::string& column() const noexcept { return column_; }
    const std::string& value() const noexcept { return value_; }

private:
    static std::string compose(std::string_view file, std::size_t line, std::string_view column,
                               std::string_view problem) {
        std::string where;
        if (line > 0) where = fmt::format("line {}", line);
        if (!column.empty()) where += fmt::format("{}column {:?}", where.empty() ? "" : ", ", column);
        return where.empty() ? fmt::format("{}: {}", file, problem) : fmt::format("{}: {}: {}", file, where, problem);
    }

    std::string file_;
    std::size_t line_;
    std::string column_;
    std::string value_;
};

}  // namespace nnfuse
