// CSV reading: bytes from gz_reader, fed line by line to libcsv, whose callbacks collect one row of cells; each
// complete row is checked and converted here (see csv.hpp for the contract).
#include "runtime/data/csv.hpp"

#include "runtime/data/data_format_error.hpp"
#include "runtime/data/gz_reader.hpp"

#include <csv.h>
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace nnfuse {
namespace {

// libcsv grows a field's buffer through this; refusing past the limit makes csv_parse stop with CSV_ENOMEM.
void* limited_realloc(void* block, std::size_t bytes) {
    if (bytes > csv_max_field_bytes) return nullptr;
    return std::realloc(block, bytes);
}
int is_tab(unsigned char c) { return c == '\t' ? 1 : 0; }
int is_space(unsigned char c) { return c == ' ' ? 1 : 0; }

// A leading '+' before a digit or a point is accepted (from_chars does not); "+-1" stays an error.
std::string_view without_plus(std::string_view text) {
    if (text.size() >= 2 && text[0] == '+' && (text[1] == '.' || (text[1] >= '0' && text[1] <= '9'))) {
        text.remove_prefix(1);
    }
    return text;
}

// The problem with a cell as a float feature or target value, or nullptr when `value` holds it.
const char* parse_float(std::string_view text, float& value) {
    if (text.empty()) return "empty cell, expected a number";
    text = without_plus(text);
    const char* end = text.data() + text.size();
    auto [stop, error] = std::from_chars(text.data(), end, value);
    if (error == std::errc::result_out_of_range && stop == end) {
        // Below the smallest float it rounds to (signed) zero, as a cast from double does; above, it is an error.
        double wide = 0;
        auto [wide_stop, wide_error] = std::from_chars(text.data(), end, wide);
        if (wide_error != std::errc{} || wide_stop != end || !(std::fabs(wide) < 1.0)) {
            return "is outside the range of a float (about 3.4e38)";
        }
        value = static_cast<float>(wide);
        return nullptr;
    }
    if (error != std::errc{} || stop != end) return "is not a number";
    if (!std::isfinite(value)) return "is not a finite number (NaN and infinities are not accepted)";
    return nullptr;
}

// Whether the cell is a class id: a non-negative integer below 2^31, also written with a fraction of zero.
bool parse_class_id(std::string_view text, std::int32_t& id) {
    text = without_plus(text);
    const char* end = text.data() + text.size();
    long long whole = 0;
    if (auto [stop, error] = std::from_chars(text.data(), end, whole); error == std::errc{} && stop == end) {
        if (whole < 0 || whole > std::numeric_limits<std::int32_t>::max()) return false;
        id = static_cast<std::int32_t>(whole);
        return true;
    }
    double real = 0;
    auto [stop, error] = std::from_chars(text.data(), end, real);
    if (error != std::errc{} || stop != end || !std::isfinite(real) || real < 0 ||
        real > std::numeric_limits<std::int32_t>::max() || real != std::floor(real)) {
        return false;
    }
    id = static_cast<std::int32_t>(real);
    return true;
}

std::string name_list(const std::vector<std::string>& names) {
    constexpr std::size_t shown = 30;
    std::string text;
    for (std::size_t k = 0; k < names.size() && k < shown; ++k) text += (k ? ", " : "") + quoted_cell(names[k]);
    if (names.size() > shown) text += fmt::format(", ... ({} columns)", names.size());
    return text;
}

void check_selection(const csv_columns& columns) {
    if (columns.kind == target_kind::none && !columns.targets.empty()) {
        throw std::invalid_argument("read_csv: target columns are named but kind is target_kind::none");
    }
    if (columns.kind == target_kind::class_id && columns.targets.size() > 1) {
        throw std::invalid_argument(
            fmt::format("read_csv: class ids come from one target column, {} are named", columns.targets.size()));
    }
    std::unordered_set<std::string> seen;
    for (const auto* list : {&columns.targets, &columns.features}) {
        for (const std::string& name : *list) {
            if (!seen.insert(name).second) {
                throw std::invalid_argument(fmt::format("read_csv: column {} is selected twice", quoted_cell(name)));
            }
        }
    }
}

// The state of one read: the header, where each column goes, the row being collected, and the table.
struct csv_reading {
    enum class role { ignored, feature, target };

    csv_reading(std::string file_name, const csv_columns& columns) : file(std::move(file_name)), selection(columns) {}

    std::string file;
    const csv_columns& selection;
    std::size_t line = 1;  // the line being fed to libcsv
    bool have_header = false;
    std::size_t header_line = 0;
    std::vector<std::string> names;
    std::vector<role> roles;
    std::vector<std::size_t> slots;  // the feature or target index of each column
    std::string cells;               // the current row's cells, end to end
    std::vector<std::size_t> cell_ends, cell_lines;
    table out;
    std::exception_ptr error;

    [[noreturn]] void fail(std::size_t at_line, std::string column, std::string value, std::string_view problem) {
        throw data_format_error(file, at_line, std::move(column), std::move(value), problem);
    }

    std::string_view cell(std::size_t k) const {
        const std::size_t begin = k == 0 ? 0 : cell_ends[k - 1];
        return std::string_view(cells).substr(begin, cell_ends[k] - begin);
    }

    void on_field(const char* text, std::size_t bytes) {
        if (bytes > 0) cells.append(text, bytes);
        cell_ends.push_back(cells.size());
        cell_lines.push_back(line);
    }

    void on_row() {
        if (!have_header) {
            names.clear();
            for (std::size_t k = 0; k < cell_ends.size(); ++k) names.emplace_back(cell(k));
            header_line = line;
            take_header();
        } else {
            take_row();
        }
        cells.clear();
        cell_ends.clear();
        cell_lines.clear();
    }

    void take_header() {
        have_header = true;
        std::unordered_map<std::string_view, std::size_t> index;
        for (std::size_t k = 0; k < names.size(); ++k) {
            if (auto [at, inserted] = index.emplace(names[k], k); !inserted) {
                fail(header_line, names[k], "",
                     fmt::format("the column name appears twice (columns {} and {}); names must be unique",
                                 at->second + 1, k + 1));
            }
        }
        roles.assign(names.size(), role::ignored);
        slots.assign(names.size(), 0);
        const auto find = [&](const std::string& name) {
            const auto at = index.find(name);
            if (at == index.end()) fail(0, name, "", "no such column; the file's columns are " + name_list(names));
            return at->second;
        };
        for (const std::string& name : selection.targets) {
            const std::size_t k = find(name);
            roles[k] = role::target;
            slots[k] = out.target_names.size();
            out.target_names.push_back(name);
        }
        for (const std::string& name : selection.features) {
            const std::size_t k = find(name);
            if (roles[k] == role::target) continue;  // cannot happen: check_selection refused the overlap
            roles[k] = role::feature;
            slots[k] = out.feature_names.size();
            out.feature_names.push_back(name);
        }
        if (selection.features.empty()) {
            for (std::size_t k = 0; k < names.size(); ++k) {
                if (roles[k] != role::ignored) continue;
                roles[k] = role::feature;
                slots[k] = out.feature_names.size();
                out.feature_names.push_back(names[k]);
            }
        }
        out.columns = out.feature_names.size();
        out.target_columns = out.target_names.size();
        out.targets = out.target_columns == 0 ? target_kind::none : selection.kind;
        if (out.columns == 0) {
            fail(header_line, "", "", "no feature columns: every column of the file is a target");
        }
    }

    void take_row() {
        if (cell_ends.size() != names.size()) {
            // Without a header row (csv_format::column_names), the columns were named by the program.
            const std::string expected_from = header_line == 0 ? std::string("as the columns named by the program")
                                                               : fmt::format("as in the header (line {})", header_line);
            fail(line, "", "", fmt::format("{} fields, expected {} {}", cell_ends.size(), names.size(), expected_from));
        }
        if ((out.rows + 1) * (out.columns + out.target_columns) > csv_max_values) {
            fail(line, "", "", fmt::format("more than {} values: the table is too large to hold", csv_max_values));
        }
        const std::size_t feature_base = out.features.size();
        out.features.resize(feature_base + out.columns);
        const bool class_ids = out.targets == target_kind::class_id;
        const std::size_t target_base = class_ids ? out.class_ids.size() : out.target_values.size();
        if (class_ids) out.class_ids.resize(target_base + out.target_columns);
        if (out.targets == target_kind::float_vector) out.target_values.resize(target_base + out.target_columns);
        for (std::size_t k = 0; k < names.size(); ++k) {
            if (roles[k] == role::ignored) continue;
            const std::string_view text = cell(k);
            if (roles[k] == role::target && class_ids) {
                if (!parse_class_id(text, out.class_ids[target_base + slots[k]])) {
                    fail(cell_lines[k], names[k], std::string(text),
                         quoted_cell(text) + " is not a class id (a non-negative integer below 2^31)");
                }
                continue;
            }
            float& value = roles[k] == role::feature ? out.features[feature_base + slots[k]]
                                                     : out.target_values[target_base + slots[k]];
            if (const char* problem = parse_float(text, value)) {
                fail(cell_lines[k], names[k], std::string(text),
                     text.empty() ? problem : fmt::format("{} {}", quoted_cell(text), problem));
            }
        }
        ++out.rows;
    }
};

void field_callback(void* text, std::size_t bytes, void* state) {
    auto& reading = *static_cast<csv_reading*>(state);
    if (reading.error) return;
    try {  // nothing may unwind through libcsv's C frames: the exception waits until csv_parse returns
        reading.on_field(static_cast<const char*>(text), bytes);
    } catch (...) {
        reading.error = std::current_exception();
    }
}

void row_callback(int, void* state) {
    auto& reading = *static_cast<csv_reading*>(state);
    if (reading.error) return;
    try {
        reading.on_row();
    } catch (...) {
        reading.error = std::current_exception();
    }
}

struct parser_guard {
    csv_parser* parser;
    ~parser_guard() { csv_free(parser); }
};

}  // namespace

table read_csv(const std::filesystem::path& file, const csv_columns& columns, const csv_format& format) {
    check_selection(columns);
    if (format.delimiter == '"' || format.delimiter == '\n' || format.delimiter == '\r') {
        throw std::invalid_argument("read_csv: the delimiter cannot be a quote or a line end");
    }
    csv_reading reading(file.string(), columns);
    if (!format.column_names.empty()) {
        reading.names = format.column_names;
        reading.take_header();
    }

    gz_reader in(file);
    csv_parser parser{};
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) in.fail("cannot set up the CSV parser");
    parser_guard guard{&parser};
    csv_set_realloc_func(&parser, limited_realloc);
    csv_set_delim(&parser, static_cast<unsigned char>(format.delimiter));
    if (format.delimiter == ' ') csv_set_space_func(&parser, is_tab);
    if (format.delimiter == '\t') csv_set_space_func(&parser, is_space);

    std::size_t line_offset = 0;  // bytes of the current line already fed
    const auto check = [&](std::size_t used, std::size_t fed) {
        if (reading.error) std::rethrow_exception(reading.error);
        if (used == fed) return;
        if (csv_error(&parser) == CSV_EPARSE) {
            reading.fail(reading.line, "", "",
                         fmt::format("malformed quoting at byte {} of the line: a quote must open a field, and a "
                                     "closing quote be followed by a delimiter or the line end (write \"\" for a "
                                     "quote inside a quoted field)",
                                     line_offset + used + 1));
        }
        if (csv_error(&parser) == CSV_ENOMEM && csv_get_buffer_size(&parser) > csv_max_field_bytes / 2) {
            reading.fail(reading.line, "", "", fmt::format("a field longer than {} bytes", csv_max_field_bytes));
        }
        reading.fail(reading.line, "", "", fmt::format("the CSV parser failed: {}", csv_strerror(csv_error(&parser))));
    };

    std::vector<char> buffer(std::size_t{1} << 16);
    std::size_t total = 0;
    for (std::size_t got; (got = in.read_some(buffer.data(), buffer.size())) > 0;) {
        const char* at = buffer.data();
        const char* const end = at + got;
        if (total == 0 && got >= 3 && std::memcmp(at, "\xEF\xBB\xBF", 3) == 0) at += 3;  // UTF-8 byte-order mark
        total += got;
        while (at < end) {
            const auto* newline = static_cast<const char*>(std::memchr(at, '\n', static_cast<std::size_t>(end - at)));
            const char* stop = newline != nullptr ? newline + 1 : end;
            const auto bytes = static_cast<std::size_t>(stop - at);
            if (reading.line > format.skip_lines) {
                check(csv_parse(&parser, at, bytes, field_callback, row_callback, &reading), bytes);
            }
            line_offset += bytes;
            if (newline != nullptr) {
                ++reading.line;
                line_offset = 0;
            }
            at = stop;
        }
    }
    const std::size_t lines = reading.line - (line_offset == 0 ? 1 : 0);  // a last line without LF counts too
    if (reading.line > 1 && line_offset == 0) --reading.line;             // errors at the end are on the last line
    if (csv_fini(&parser, field_callback, row_callback, &reading) != 0) {
        if (reading.error) std::rethrow_exception(reading.error);
        reading.fail(reading.line, "", "", "the file ends inside a quoted field (a closing quote is missing)");
    }
    if (reading.error) std::rethrow_exception(reading.error);

    if (total == 0) {
        reading.fail(0, "", "",
                     format.column_names.empty() ? "empty file, expected a header row of column names"
                                                 : "empty file, expected rows of data");
    }
    if (!reading.have_header) {
        reading.fail(0, "", "",
                     format.skip_lines >= lines ? fmt::format("no header row: the file has {} lines and {} are skipped",
                                                              lines, format.skip_lines)
                                                : std::string("no header row: the file holds only blank lines"));
    }
    if (reading.out.rows == 0) {
        reading.fail(0, "", "",
                     format.column_names.empty()
                         ? fmt::format("no data rows after the header (line {})", reading.header_line)
                         : std::string("no data rows"));
    }
    return std::move(reading.out);
}

}  // namespace nnfuse
