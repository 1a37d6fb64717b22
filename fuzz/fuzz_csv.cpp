// libFuzzer target: the CSV reader (libcsv under our row handling, raw or gzip) on arbitrary bytes. Contract under
// test: read_csv either returns a table that satisfies table.hpp's invariants or throws data_error; never
// another exception, a crash, a hang, undefined behaviour or an out-of-bounds access (ASan + UBSan; libcsv itself
// is Debian's uninstrumented build, so coverage guides through our side of the callbacks).
#include "check_table.hpp"
#include "memory_file.hpp"

#include "runtime/data/csv.hpp"
#include "runtime/data/data_error.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    // First byte: which selection and format; the rest is the file. The names are those of the seed corpus.
    const std::uint8_t mode = data[0];
    nnfuse_fuzz::memory_file file(data + 1, size - 1);
    nnfuse::csv_columns columns;
    nnfuse::csv_format format;
    switch (mode % 5) {
        case 0:  // every column a feature
            break;
        case 1:
            columns = {{"y"}, {}, nnfuse::target_kind::class_id};
            break;
        case 2:
            columns = {{"y", "z"}, {"b", "a"}, nnfuse::target_kind::float_vector};
            break;
        case 3:  // scikit-learn's layout: a shape line, then rows without a header
            format.skip_lines = 1;
            format.column_names = {"a", "b", "y"};
            columns = {{"y"}, {}, nnfuse::target_kind::class_id};
            break;
        case 4:
            format.delimiter = mode & 0x80 ? ' ' : ';';
            columns = {{"y"}, {}, nnfuse::target_kind::float_vector};
            break;
    }
    try {
        nnfuse_fuzz::check_table(nnfuse::read_csv(file.path(), columns, format));
    } catch (const nnfuse::data_error&) {
    }
    return 0;
}
