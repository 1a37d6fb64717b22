// read_csv: good files (selection by name, quoting, CRLF, gzip, scikit-learn's layout) give exactly the numbers
// written by hand below; every kind of bad file gives one data_format_error naming the file, the line, the
// column and the cell.
#include "runtime/data/csv.hpp"

#include "runtime/data/data_format_error.hpp"

#include "idx_test_files.hpp"

#include <stdexcept>
#include <string>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nnfuse::csv_columns;
using nnfuse::csv_format;
using nnfuse::read_csv;
using nnfuse::target_kind;
using namespace nnfuse_test;

namespace {

bytes text(const std::string& s) { return bytes(s.begin(), s.end()); }

void write_text(const std::filesystem::path& file, const std::string& s) { write_raw(file, text(s)); }

// The data_format_error read_csv throws on `content`; fails the test when it throws nothing or something else.
nnfuse::data_format_error csv_error(const scratch_dir& dir, const std::string& content, const csv_columns& columns,
                                    const csv_format& format = {}) {
    const auto file = dir / "bad.csv";
    write_text(file, content);
    try {
        read_csv(file, columns, format);
    } catch (const nnfuse::data_format_error& e) {
        CHECK_THAT(e.what(), StartsWith(file.string() + ": "));
        CHECK(e.file() == file.string());
        return e;
    }
    FAIL("expected a data_format_error, nothing was thrown");
    throw std::logic_error("unreachable");
}

const csv_columns class_target{{"y"}, {}, target_kind::class_id};
const csv_columns value_target{{"y"}, {}, target_kind::float_vector};

}  // namespace

TEST_CASE("read_csv reads features and a class-id target, every other column a feature", "[data][csv]") {
    scratch_dir dir;
    write_text(dir / "t.csv", "a,b,y\n1.5,-2,0\n.25,3e2,2\n+7,-0.125,1\n");
    const auto t = read_csv(dir / "t.csv", class_target);
    CHECK(t.rows == 3);
    CHECK(t.columns == 2);
    CHECK(t.feature_names == std::vector<std::string>{"a", "b"});
    CHECK(t.features == std::vector<float>{1.5f, -2.0f, 0.25f, 300.0f, 7.0f, -0.125f});
    CHECK(t.targets == target_kind::class_id);
    CHECK(t.target_columns == 1);
    CHECK(t.target_names == std::vector<std::string>{"y"});
    CHECK(t.class_ids == std::vector<std::int32_t>{0, 2, 1});
    CHECK(t.target_values.empty());
}

TEST_CASE("read_csv selects features in the caller's order and several value targets", "[data][csv]") {
    scratch_dir dir;
    // "note" is selected by nobody: its cells are never parsed, so "n/a" is no error.
    write_text(dir / "t.csv", "a,note,y1,c,y2\n1,n/a,0.5,2,-1\n3,,1.5,4,-2\n");
    const auto t = read_csv(dir / "t.csv", {{"y2", "y1"}, {"c", "a"}, target_kind::float_vector});
    CHECK(t.rows == 2);
    CHECK(t.feature_names == std::vector<std::string>{"c", "a"});
    CHECK(t.features == std::vector<float>{2, 1, 4, 3});
    CHECK(t.targets == target_kind::float_vector);
    CHECK(t.target_columns == 2);
    CHECK(t.target_names == std::vector<std::string>{"y2", "y1"});
    CHECK(t.target_values == std::vector<float>{-1, 0.5f, -2, 1.5f});
    CHECK(t.class_ids.empty());
}

TEST_CASE("read_csv without targets reads every column as a feature", "[data][csv]") {
    scratch_dir dir;
    write_text(dir / "t.csv", "x,z\n1,2\n");
    const auto t = read_csv(dir / "t.csv", {});
    CHECK(t.targets == target_kind::none);
    CHECK(t.target_columns == 0);
    CHECK(t.features == std::vector<float>{1, 2});
}

TEST_CASE("read_csv reads quoted fields, CRLF, spaces, a BOM, blank lines and a last line without LF", "[data][csv]") {
    scratch_dir dir;
    write_text(dir / "t.csv",
               "\xEF\xBB\xBF\"a\",\"b, with comma\",\"say \"\"hi\"\"\",y\r\n"
               "\"1.5\", 2 ,\t-4\t,1\r\n"
               "\r\n"
               "\"-3\",4,5,0");
    const auto t = read_csv(dir / "t.csv", class_target);
    CHECK(t.feature_names == std::vector<std::string>{"a", "b, with comma", "say \"hi\""});
    CHECK(t.features == std::vector<float>{1.5f, 2, -4, -3, 4, 5});
    CHECK(t.class_ids == std::vector<std::int32_t>{1, 0});
}

TEST_CASE("read_csv reads gzip files, decided by content", "[data][csv]") {
    scratch_dir dir;
    const std::string content = "a,y\n0.5,3\n-1.25,7\n";
    write_gz(dir / "t.csv.gz", text(content));
    write_gz(dir / "compressed-without-suffix.csv", text(content));
    for (const char* name : {"t.csv.gz", "compressed-without-suffix.csv"}) {
        const auto t = read_csv(dir / name, class_target);
        CHECK(t.features == std::vector<float>{0.5f, -1.25f});
        CHECK(t.class_ids == std::vector<std::int32_t>{3, 7});
    }
}

TEST_CASE("read_csv reads more rows than fit its read buffer", "[data][csv]") {
    scratch_dir dir;
    std::string content = "i,y\n";
    for (int k = 0; k < 20000; ++k) content += std::to_string(k) + "," + std::to_string(k % 3) + "\n";
    write_gz(dir / "big.csv.gz", text(content));
    const auto t = read_csv(dir / "big.csv.gz", class_target);
    REQUIRE(t.rows == 20000);
    CHECK(t.features[0] == 0);
    CHECK(t.features[12345] == 12345);
    CHECK(t.features[19999] == 19999);
    CHECK(t.class_ids[19999] == 1);  // 19999 = 3 * 6666 + 1
    CHECK(t.class_ids[19998] == 0);
    CHECK(t.class_ids[19997] == 2);
}

TEST_CASE("read_csv reads scikit-learn's layout: a shape line, no header names, another delimiter", "[data][csv]") {
    scratch_dir dir;
    write_text(dir / "sk.csv", "2,2,class_0,class_1\n1.0;2.0;1\n3.5;4.5;0\n");
    csv_format format;
    format.delimiter = ';';
    format.skip_lines = 1;
    format.column_names = {"f0", "f1", "target"};
    const auto t = read_csv(dir / "sk.csv", {{"target"}, {}, target_kind::class_id}, format);
    CHECK(t.feature_names == std::vector<std::string>{"f0", "f1"});
    CHECK(t.features == std::vector<float>{1, 2, 3.5f, 4.5f});
    CHECK(t.class_ids == std::vector<std::int32_t>{1, 0});

    write_text(dir / "spaces.csv", "1 2\n-3 0.5\n");
    format = {};
    format.delimiter = ' ';
    format.column_names = {"p", "q"};
    CHECK(read_csv(dir / "spaces.csv", {}, format).features == std::vector<float>{1, 2, -3, 0.5f});
}

TEST_CASE("read_csv accepts class ids written as whole reals, and rounds tiny values to zero", "[data][csv]") {
    scratch_dir dir;
    write_text(dir / "t.csv", "a,y\n1e-50,2.0\n-1e-50,1e1\n");
    const auto t = read_csv(dir / "t.csv", class_target);
    CHECK(t.class_ids == std::vector<std::int32_t>{2, 10});
    CHECK(t.features == std::vector<float>{0.0f, -0.0f});
}

TEST_CASE("read_csv rejects a ragged row with the line and both field counts", "[data][csv]") {
    scratch_dir dir;
    auto e = csv_error(dir, "a,b,y\n1,2,0\n3,0\n", class_target);
    CHECK(e.line() == 3);
    CHECK_THAT(e.what(), Contains("line 3") && Contains("2 fields, expected 3"));
    e = csv_error(dir, "a,b,y\n1,2,0\r\n3,4,0,9\r\n", class_target);
    CHECK(e.line() == 3);
    CHECK_THAT(e.what(), Contains("4 fields, expected 3"));
}

TEST_CASE("read_csv rejects a cell that is not entirely a number", "[data][csv]") {
    scratch_dir dir;
    const std::string cell = GENERATE("1.5abc", "abc", "1,5", "0x10", "1e", "--1", "+-1", "1 2");
    INFO(cell);
    const auto e = csv_error(dir, "a,b,y\n1,2,0\n3,\"" + cell + "\",1\n", class_target);
    CHECK(e.line() == 3);
    CHECK(e.column() == "b");
    CHECK(e.value() == cell);
    CHECK_THAT(e.what(), Contains("line 3, column \"b\"") && Contains("\"" + cell + "\" is not a number"));
}

TEST_CASE("read_csv rejects NaN and infinite cells", "[data][csv]") {
    scratch_dir dir;
    const std::string cell = GENERATE("nan", "NaN", "-inf", "Infinity");
    INFO(cell);
    const auto e = csv_error(dir, "a,y\n1,0\n" + cell + ",1\n", class_target);
    CHECK(e.line() == 3);
    CHECK(e.column() == "a");
    CHECK_THAT(e.what(), Contains("\"" + cell + "\" is not a finite number"));
    const auto target = csv_error(dir, "a,y\n1,0\n2," + cell + "\n", value_target);
    CHECK(target.column() == "y");
    CHECK_THAT(target.what(), Contains("line 3, column \"y\"") && Contains("not a finite number"));
}

TEST_CASE("read_csv rejects values outside the float range", "[data][csv]") {
    scratch_dir dir;
    const auto e = csv_error(dir, "a,y\n1e39,0\n", class_target);
    CHECK_THAT(e.what(), Contains("line 2, column \"a\"") && Contains("\"1e39\" is outside the range of a float"));
}

TEST_CASE("read_csv rejects empty cells", "[data][csv]") {
    scratch_dir dir;
    auto e = csv_error(dir, "a,b,y\n1,,0\n", class_target);
    CHECK(e.line() == 2);
    CHECK(e.column() == "b");
    CHECK_THAT(e.what(), Contains("line 2, column \"b\": empty cell"));
    e = csv_error(dir, "a,b,y\n1,2,\"\"\n", value_target);
    CHECK(e.column() == "y");
    CHECK_THAT(e.what(), Contains("empty cell"));
}

TEST_CASE("read_csv rejects class ids that are not non-negative integers", "[data][csv]") {
    scratch_dir dir;
    const std::string cell = GENERATE("-1", "1.5", "x", "2147483648", "nan", "");
    INFO(cell);
    const auto e = csv_error(dir, "a,y\n1,0\n2," + cell + "\n", class_target);
    CHECK(e.line() == 3);
    CHECK(e.column() == "y");
    CHECK(e.value() == cell);
    CHECK_THAT(e.what(), Contains("line 3, column \"y\"") && Contains("is not a class id"));
}

TEST_CASE("read_csv rejects empty files and files without a header or data rows", "[data][csv]") {
    scratch_dir dir;
    CHECK_THAT(csv_error(dir, "", class_target).what(), Contains("empty file, expected a header row"));
    CHECK_THAT(csv_error(dir, "\n\r\n\n", class_target).what(), Contains("no header row"));
    CHECK_THAT(csv_error(dir, "a,y\n", class_target).what(), Contains("no data rows after the header (line 1)"));
    csv_format skip_all;
    skip_all.skip_lines = 2;
    CHECK_THAT(csv_error(dir, "a,y\n1,2\n", class_target, skip_all).what(),
               Contains("no header row: the file has 2 lines and 2 are skipped"));

    write_gz(dir / "empty.csv.gz", {});
    CHECK_THAT(data_error_message([&] { read_csv(dir / "empty.csv.gz", class_target); }),
               StartsWith((dir / "empty.csv.gz").string() + ": ") && Contains("empty file"));
}

TEST_CASE("read_csv rejects a selected column the file lacks, listing the columns it has", "[data][csv]") {
    scratch_dir dir;
    auto e = csv_error(dir, "alpha,beta,y\n1,2,0\n", {{"y"}, {"beta", "gamma"}, target_kind::class_id});
    CHECK(e.column() == "gamma");
    CHECK_THAT(e.what(), Contains("column \"gamma\": no such column") &&
                             Contains("the file's columns are \"alpha\", \"beta\", \"y\""));
    e = csv_error(dir, "alpha,beta\n1,2\n", {{"label"}, {}, target_kind::class_id});
    CHECK(e.column() == "label");
}

TEST_CASE("read_csv rejects duplicate column names", "[data][csv]") {
    scratch_dir dir;
    const auto e = csv_error(dir, "a,b,a,y\n1,2,3,0\n", class_target);
    CHECK(e.line() == 1);
    CHECK(e.column() == "a");
    CHECK_THAT(e.what(), Contains("line 1, column \"a\": the column name appears twice (columns 1 and 3)"));
}

TEST_CASE("read_csv rejects malformed quoting and an unclosed quote", "[data][csv]") {
    scratch_dir dir;
    auto e = csv_error(dir, "a,b,y\n1,\"2\"x,0\n", class_target);
    CHECK(e.line() == 2);
    CHECK_THAT(e.what(), Contains("line 2: malformed quoting at byte"));
    e = csv_error(dir, "a,b,y\n1,2,0\n1,\"2,0\n", class_target);
    CHECK_THAT(e.what(), Contains("ends inside a quoted field"));
}

TEST_CASE("read_csv counts lines inside quoted fields that hold line breaks", "[data][csv]") {
    scratch_dir dir;
    // Row 1's note spans lines 2 and 3; the bad cell is on line 5.
    const auto e = csv_error(dir, "a,note\n1,\"two\nlines\"\n2,ok\nbad,x\n", {{}, {"a"}, target_kind::float_vector});
    CHECK(e.line() == 5);
    CHECK(e.value() == "bad");
}

TEST_CASE("read_csv rejects a field longer than its limit", "[data][csv]") {
    scratch_dir dir;
    const auto e = csv_error(dir, "a,y\n" + std::string(nnfuse::csv_max_field_bytes + 10, '1') + ",0\n", class_target);
    CHECK(e.line() == 2);
    CHECK_THAT(e.what(), Contains("a field longer than"));
}

TEST_CASE("read_csv rejects missing files and corrupt gzip", "[data][csv]") {
    scratch_dir dir;
    CHECK_THAT(data_error_message([&] { read_csv(dir / "missing.csv", class_target); }),
               StartsWith((dir / "missing.csv").string() + ": ") && Contains("cannot open"));
    bytes gz = gz_bytes(dir, text("a,y\n1,0\n2,1\n3,0\n"));
    gz.resize(gz.size() - 6);
    write_raw(dir / "cut.csv.gz", gz);
    CHECK_THAT(data_error_message([&] { read_csv(dir / "cut.csv.gz", class_target); }),
               StartsWith((dir / "cut.csv.gz").string() + ": ") && Contains("truncated"));
}

TEST_CASE("read_csv refuses a selection that is a program error", "[data][csv]") {
    scratch_dir dir;
    write_text(dir / "t.csv", "a,b,y\n1,2,0\n");
    CHECK_THROWS_AS(read_csv(dir / "t.csv", {{"y"}, {}, target_kind::none}), std::invalid_argument);
    CHECK_THROWS_AS(read_csv(dir / "t.csv", {{"a", "y"}, {}, target_kind::class_id}), std::invalid_argument);
    CHECK_THROWS_AS(read_csv(dir / "t.csv", {{"y"}, {"a", "a"}, target_kind::float_vector}), std::invalid_argument);
    CHECK_THROWS_AS(read_csv(dir / "t.csv", {{"y"}, {"y"}, target_kind::float_vector}), std::invalid_argument);
    csv_format quote;
    quote.delimiter = '"';
    CHECK_THROWS_AS(read_csv(dir / "t.csv", {}, quote), std::invalid_argument);
}
