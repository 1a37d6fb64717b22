// CSV reader: a file with a header row of column names (raw or gzip) into a table of float features and targets.
//
// read_csv(file, columns, format)
//   requires: columns names each column at most once, none both as feature and target; a kind other than none
//             when targets are named (without targets, kind is ignored), and one target column for class_id;
//             format.delimiter is not a quote or a line end (else std::invalid_argument: a mistake in the
//             program, not in the file).
//   ensures:  the table's invariants (table.hpp). Features are columns.features in that order, or, when that
//             list is empty, every column that is not a target, in file order. Each cell is the whole of a
//             decimal number (std::from_chars's: "1", "-2.5", ".5", "3e-2", a leading '+' allowed; spaces and
//             tabs around an unquoted cell are dropped) rounded to the nearest float; class ids are
//             non-negative integers below 2^31, also when written as "2.0" or "2e0".
//   throws:   data_format_error (a data_error) naming the file, and where it applies the line, the column name
//             and the cell text, for: a file that cannot be opened or decompressed; an empty file or one
//             without a header row; duplicate column names; a selected column the header does not have (with
//             the columns it has); a row with another number of fields than the header (expected and found);
//             an empty cell; a cell that is not a number ("1.5abc", "abc") or not finite ("nan", "inf"), or
//             outside the float range; a class id that is not a non-negative integer; malformed quoting; no
//             data rows; a field over csv_max_field_bytes or a table over csv_max_values.
//
// Parsing is libcsv's (Debian libcsv-dev) in strict mode: RFC 4180 quoting ("a,b" and "say ""hi"""), LF, CRLF
// or CR line ends, blank lines skipped. Compression is decided by content (gz_reader), so data.csv.gz and a
// gzip file without the suffix both work. A line number counts LF characters from the start of the file
// (skipped lines included), and is that of the line where the field or row ends (the same line unless a
// quoted field holds a line break). A UTF-8 byte-order mark before the header is ignored.
#pragma once

#include "runtime/data/table.hpp"

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace nnfuse {

// Limits that keep a hostile or mistaken file from exhausting memory: far above any table this library trains
// on in memory, far below what would take the machine down.
inline constexpr std::size_t csv_max_field_bytes = std::size_t{1} << 20;  // one cell or header name: 1 MiB
inline constexpr std::size_t csv_max_values = std::size_t{1} << 28;       // features + targets: 1 GiB of floats

struct csv_columns {
    std::vector<std::string> targets;              // target column names; empty: the file holds only features
    std::vector<std::string> features;             // feature column names; empty: every column that is not a target
    target_kind kind = target_kind::float_vector;  // what the targets hold; none when targets is empty
};

struct csv_format {
    char delimiter = ',';
    // Lines before the header (or before the data, with column_names): e.g. 1 for scikit-learn's data files,
    // whose first line holds the table's shape and class names.
    std::size_t skip_lines = 0;
    // Non-empty: the file has no header row and these are its columns' names, in order.
    std::vector<std::string> column_names;
};

table read_csv(const std::filesystem::path& file, const csv_columns& columns, const csv_format& format = {});

}  // namespace nnfuse
