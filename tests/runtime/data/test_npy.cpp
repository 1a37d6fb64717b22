// read_npy and read_npy_table: NPY files written byte by byte here, one per dtype and byte order, in the three
// format versions, give exactly the numbers spelled out in their bytes; every kind of bad file gives one
// data_error naming the file and the problem. With Debian's numpy (NNFUSE_NUMPY_PYTHON, set by meson when a
// python3 has it), files numpy writes are read too.
#include "runtime/data/npy.hpp"
#include "runtime/data/npy_table.hpp"

#include "runtime/data/data_format_error.hpp"

#include "idx_test_files.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nnfuse::npy_dtype;
using nnfuse::read_npy;
using nnfuse::read_npy_table;
using nnfuse::target_kind;
using namespace nnfuse_test;

namespace {

// An NPY file: magic, version, header length (2 bytes in 1.0, else 4), the header dict padded with spaces to a
// multiple of 64 bytes and ended by '\n', then the payload as given (right size or not).
bytes npy_file(const std::string& dict, const bytes& payload, unsigned major = 1) {
    const std::size_t preamble = major == 1 ? 10 : 12;
    std::string header = dict;
    while ((preamble + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    bytes out{0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(major), 0};
    for (std::size_t k = 0; k < preamble - 8; ++k) out.push_back(static_cast<std::uint8_t>(header.size() >> (8 * k)));
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

void write_text_file(const std::filesystem::path& file, const std::string& text) {
    write_raw(file, bytes(text.begin(), text.end()));
}

std::string dict(const std::string& descr, const std::string& shape, bool fortran = false) {
    return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape +
           ", }";
}

// The data_error read_npy throws for a file holding `content`, with its message checked to start with the file.
std::string npy_error(const scratch_dir& dir, const bytes& content) {
    const auto file = dir / "bad.npy";
    write_raw(file, content);
    const std::string message = data_error_message([&] { read_npy(file); });
    CHECK_THAT(message, StartsWith(file.string() + ": "));
    return message;
}

// Little-endian bytes of hand-picked values, spelled out (the expected numbers are in the comments).
const bytes f32_le = {0x00, 0x00, 0x80, 0x3f,   // 1.0
                      0x00, 0x00, 0x20, 0xc0,   // -2.5
                      0x00, 0x00, 0x40, 0x3e,   // 0.1875
                      0x00, 0x00, 0xc8, 0x42,   // 100.0
                      0x00, 0x00, 0x00, 0x00,   // 0.0
                      0x00, 0x00, 0x00, 0xbf};  // -0.5
const std::vector<float> f32_values = {1.0f, -2.5f, 0.1875f, 100.0f, 0.0f, -0.5f};

}  // namespace

TEST_CASE("read_npy reads each dtype from bytes written by hand", "[data][npy]") {
    scratch_dir dir;
    write_raw(dir / "f4.npy", npy_file(dict("<f4", "(2, 3)"), f32_le));
    const auto f4 = read_npy_table(dir / "f4.npy");
    CHECK(f4.rows == 2);
    CHECK(f4.columns == 3);
    CHECK(f4.features == f32_values);
    CHECK(f4.feature_names == std::vector<std::string>{"0", "1", "2"});
    CHECK(f4.targets == target_kind::none);

    // 0.5, -3.0 (exact) and 0.1 (rounded to float as a cast would)
    write_raw(dir / "f8.npy", npy_file(dict("<f8", "(1, 3)"), {0,    0,    0,    0,    0,    0,    0xe0, 0x3f,
                                                               0,    0,    0,    0,    0,    0,    0x08, 0xc0,  //
                                                               0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f}));
    CHECK(read_npy_table(dir / "f8.npy").features == std::vector<float>{0.5f, -3.0f, 0.1f});

    // 7, -2 and 16777216 (2^24)
    write_raw(dir / "i4.npy",
              npy_file(dict("<i4", "(3, 1)"), {7, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01}));
    CHECK(read_npy_table(dir / "i4.npy").features == std::vector<float>{7, -2, 16777216});

    // -3 and 2^40
    write_raw(dir / "i8.npy", npy_file(dict("<i8", "(2, 1)"), {0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  //
                                                               0, 0, 0, 0, 0, 0x01, 0, 0}));
    CHECK(read_npy_table(dir / "i8.npy").features == std::vector<float>{-3, 1099511627776.0f});

    write_raw(dir / "u1.npy", npy_file(dict("|u1", "(2, 2)"), {0, 1, 200, 255}));
    CHECK(read_npy_table(dir / "u1.npy").features == std::vector<float>{0, 1, 200, 255});
}

TEST_CASE("read_npy converts big-endian files and transposes fortran_order ones", "[data][npy]") {
    scratch_dir dir;
    write_raw(dir / "be.npy", npy_file(dict(">f4", "(1, 2)"), {0x3f, 0x80, 0x00, 0x00, 0xc0, 0x20, 0x00, 0x00}));
    CHECK(read_npy_table(dir / "be.npy").features == std::vector<float>{1.0f, -2.5f});
    write_raw(dir / "be8.npy", npy_file(dict(">i8", "(1, 1)"), {0, 0, 0, 0, 0, 0, 0x01, 0x02}));
    CHECK(read_npy_table(dir / "be8.npy").features == std::vector<float>{258});

    // Column-major [[1, -2.5, 0.1875], [100, 0, -0.5]] is stored 1, 100, -2.5, 0, 0.1875, -0.5.
    const bytes column_major = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0xc8, 0x42, 0x00, 0x00, 0x20, 0xc0,
                                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x3e, 0x00, 0x00, 0x00, 0xbf};
    write_raw(dir / "f.npy", npy_file(dict("<f4", "(2, 3)", true), column_major));
    const auto t = read_npy_table(dir / "f.npy");
    CHECK(t.rows == 2);
    CHECK(t.columns == 3);
    CHECK(t.features == f32_values);
}

TEST_CASE("read_npy reads format versions 1.0, 2.0 and 3.0, and gzip", "[data][npy]") {
    scratch_dir dir;
    const unsigned major = GENERATE(1U, 2U, 3U);
    INFO("version " << major << ".0");
    write_raw(dir / "v.npy", npy_file(dict("<f4", "(3, 2)"), f32_le, major));
    const auto array = read_npy(dir / "v.npy");
    CHECK(array.dtype == npy_dtype::float32);
    CHECK(array.shape == std::vector<std::size_t>{3, 2});
    CHECK(read_npy_table(dir / "v.npy").features == f32_values);
    write_gz(dir / "v.npy.gz", npy_file(dict("<f4", "(6, 1)"), f32_le, major));
    CHECK(read_npy_table(dir / "v.npy.gz").features == f32_values);
}

TEST_CASE("read_npy accepts the dict with double quotes, no trailing comma and keys in any order", "[data][npy]") {
    scratch_dir dir;
    write_raw(dir / "q.npy",
              npy_file("{\"shape\":(2,),\"fortran_order\":False,\"descr\":\"<i4\"}", {5, 0, 0, 0, 9, 0, 0, 0}));
    const auto array = read_npy(dir / "q.npy");
    CHECK(array.shape == std::vector<std::size_t>{2});
    CHECK(array.element<std::int32_t>(1) == 9);
}

TEST_CASE("read_npy_table pairs features with class ids or values", "[data][npy]") {
    scratch_dir dir;
    write_raw(dir / "x.npy", npy_file(dict("<f4", "(3, 2)"), f32_le));
    write_raw(dir / "ids.npy", npy_file(dict("<i8", "(3,)"), {2, 0, 0, 0, 0, 0, 0, 0,  //
                                                              0, 0, 0, 0, 0, 0, 0, 0,  //
                                                              1, 0, 0, 0, 0, 0, 0, 0}));
    const auto classes = read_npy_table(dir / "x.npy", dir / "ids.npy", target_kind::class_id);
    CHECK(classes.targets == target_kind::class_id);
    CHECK(classes.class_ids == std::vector<std::int32_t>{2, 0, 1});
    CHECK(classes.target_columns == 1);

    // Whole floats are class ids too: 1.0, 0.0, 2^24 = 16777216.
    write_raw(dir / "fids.npy", npy_file(dict("<f4", "(3, 1)"), {0, 0, 0x80, 0x3f, 0, 0, 0, 0, 0, 0, 0x80, 0x4b}));
    CHECK(read_npy_table(dir / "x.npy", dir / "fids.npy", target_kind::class_id).class_ids ==
          std::vector<std::int32_t>{1, 0, 16777216});

    write_raw(dir / "y.npy", npy_file(dict("<f4", "(3, 2)"), f32_le));
    const auto values = read_npy_table(dir / "x.npy", dir / "y.npy", target_kind::float_vector);
    CHECK(values.target_columns == 2);
    CHECK(values.target_values == f32_values);
    CHECK(values.target_names == std::vector<std::string>{"0", "1"});
    CHECK_THROWS_AS(read_npy_table(dir / "x.npy", dir / "y.npy", target_kind::none), std::invalid_argument);
}

TEST_CASE("read_npy rejects files that are not NPY or end early", "[data][npy]") {
    scratch_dir dir;
    CHECK_THAT(npy_error(dir, {}), Contains("empty file"));
    CHECK_THAT(npy_error(dir, {'h', 'e', 'l', 'l', 'o', ',', 'w', 'o', 'r', 'l', 'd'}),
               Contains("not an NPY file: it starts with \"hello,\""));
    CHECK_THAT(npy_error(dir, {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0}), Contains(".npz zip archive"));
    CHECK_THAT(npy_error(dir, {0x93, 'N', 'U', 'M'}), Contains("truncated header: the file ends after 4 bytes"));
    CHECK_THAT(npy_error(dir, {0x93, 'N', 'U', 'M', 'P', 'Y', 4, 0, 10, 0}),
               Contains("NPY format version 4.0 is not supported"));

    bytes cut_header = npy_file(dict("<f4", "(3, 2)"), f32_le);
    cut_header.resize(40);
    CHECK_THAT(npy_error(dir, cut_header), Contains("truncated header: expected 118 bytes, the file holds 30"));

    bytes cut_data = npy_file(dict("<f4", "(3, 2)"), f32_le);
    cut_data.resize(cut_data.size() - 5);
    CHECK_THAT(npy_error(dir, cut_data),
               Contains("truncated data: shape (3, 2) of float32 needs 24 bytes after the header, the file holds 19"));

    bytes extra = npy_file(dict("<f4", "(3, 2)"), f32_le);
    extra.push_back(0);
    CHECK_THAT(npy_error(dir, extra), Contains("1 bytes after the 24 bytes of shape (3, 2)"));
}

TEST_CASE("read_npy rejects unsupported dtypes and ranks, naming them", "[data][npy]") {
    scratch_dir dir;
    const std::string descr = GENERATE("<f2", "<i2", "<c8", "|b1", "<U3", "|O", "<f4x", "|f4", "f4");
    INFO(descr);
    CHECK_THAT(npy_error(dir, npy_file(dict(descr, "(1,)"), bytes(16))),
               Contains("unsupported dtype \"" + descr + "\""));
    CHECK_THAT(npy_error(dir, npy_file("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", {})),
               Contains("unsupported dtype: a structured (record) dtype"));
    CHECK_THAT(npy_error(dir, npy_file(dict("<f4", "()"), bytes(4))),
               Contains("rank 0 (shape ()) is not supported: expected 1 or 2 dimensions"));
    CHECK_THAT(npy_error(dir, npy_file(dict("<f4", "(1, 2, 3)"), bytes(24))),
               Contains("rank 3 (shape (1, 2, 3)) is not supported"));
    CHECK_THAT(npy_error(dir, npy_file(dict("<f8", "(100000, 100000)"), {})), Contains("GiB limit"));
}

TEST_CASE("read_npy rejects a malformed header dict, naming the byte", "[data][npy]") {
    scratch_dir dir;
    CHECK_THAT(npy_error(dir, npy_file("['descr', '<f4']", {})),
               Contains("malformed NPY header dict: expected '{' at byte 1 of the header"));
    CHECK_THAT(npy_error(dir, npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2,) ", {})),
               Contains("expected ',' or '}'"));
    CHECK_THAT(npy_error(dir, npy_file("{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}", {})),
               Contains("expected a string, True, False, a tuple or a list at byte 35"));
    CHECK_THAT(npy_error(dir, npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1)}", {})),
               Contains("expected a dimension (a non-negative integer)"));
    CHECK_THAT(npy_error(dir, npy_file("{'descr': '<f4', 'shape': (2,)}", {})), Contains("no 'fortran_order'"));
    CHECK_THAT(npy_error(dir, npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': True}", {})),
               Contains("unexpected key \"x\""));
    CHECK_THAT(npy_error(dir, npy_file("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", {})),
               Contains("key 'descr' appears twice"));
    CHECK_THAT(npy_error(dir, npy_file("{'descr': '<f4', 'fortran_order': 'no', 'shape': (2,)}", {})),
               Contains("'fortran_order' must be True or False"));
    CHECK_THAT(npy_error(dir, npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", {})),
               Contains("expected the end of the header after '}'"));
}

// The data_format_error read_npy_table throws; fails the test when it throws nothing or something else.
template <class Read>
nnfuse::data_format_error table_error(Read&& read) {
    try {
        read();
    } catch (const nnfuse::data_format_error& e) {
        return e;
    }
    FAIL("expected a data_format_error");
    throw std::logic_error("unreachable");
}

TEST_CASE("read_npy_table rejects wrong shapes and mismatched row counts", "[data][npy]") {
    scratch_dir dir;
    write_raw(dir / "x1.npy", npy_file(dict("<f4", "(6,)"), f32_le));
    auto e = table_error([&] { read_npy_table(dir / "x1.npy"); });
    CHECK(e.file() == (dir / "x1.npy").string());
    CHECK_THAT(e.what(), Contains("features must be a 2-D array") && Contains("shape (6,)") && Contains("(6, 1)"));

    write_raw(dir / "x0.npy", npy_file(dict("<f4", "(0, 3)"), {}));
    CHECK_THAT(table_error([&] { read_npy_table(dir / "x0.npy"); }).what(), Contains("no rows"));

    write_raw(dir / "x.npy", npy_file(dict("<f4", "(3, 2)"), f32_le));
    write_raw(dir / "y2.npy", npy_file(dict("<f4", "(2,)"), bytes(8)));
    e = table_error([&] { read_npy_table(dir / "x.npy", dir / "y2.npy", target_kind::float_vector); });
    CHECK(e.file() == (dir / "y2.npy").string());
    CHECK_THAT(e.what(), StartsWith((dir / "y2.npy").string() + ": 2 rows of targets") &&
                             Contains("but the features in " + (dir / "x.npy").string() + " have 3 rows"));

    write_raw(dir / "y32.npy", npy_file(dict("<f4", "(3, 2)"), f32_le));
    CHECK_THAT(table_error([&] { read_npy_table(dir / "x.npy", dir / "y32.npy", target_kind::class_id); }).what(),
               Contains("class ids are one per row") && Contains("shape (3, 2)"));
}

TEST_CASE("read_npy_table rejects NaN, infinite, out-of-range and inexact elements, naming the index", "[data][npy]") {
    scratch_dir dir;
    const auto check = [&](const std::string& descr, const bytes& payload, const std::string& expected) {
        write_raw(dir / "x.npy", npy_file(dict(descr, "(1, 2)"), payload));
        const auto e = table_error([&] { read_npy_table(dir / "x.npy"); });
        CHECK(e.file() == (dir / "x.npy").string());
        CHECK_THAT(e.what(), Contains(expected));
    };
    check("<f4", {0, 0, 0x80, 0x3f, 0, 0, 0xc0, 0x7f}, "element [0, 1] = nan is not finite");
    check("<f4", {0, 0, 0x80, 0xff, 0, 0, 0, 0}, "element [0, 0] = -inf is not finite");
    check("<f8", {0, 0, 0, 0, 0, 0, 0, 0, 0x11, 0x14, 0x0e, 0xec, 0xd6, 0xaf, 0x81, 0x4f},
          "element [0, 1] = 1e+75 is outside the range of a float");
    // 2^24 + 1 = 16777217 is the first integer a float cannot hold.
    check("<i4", {0, 0, 0, 0, 0x01, 0x00, 0x00, 0x01}, "element [0, 1] = 16777217 is an integer that a float cannot");
    check("<i8", {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0},
          "element [0, 0] = 9223372036854775807 is an integer");

    write_raw(dir / "x.npy", npy_file(dict("<f4", "(2, 1)"), bytes(8)));
    const auto ids = [&](const std::string& descr, const bytes& payload, const std::string& expected) {
        write_raw(dir / "ids.npy", npy_file(dict(descr, "(2,)"), payload));
        const auto e = table_error([&] { read_npy_table(dir / "x.npy", dir / "ids.npy", target_kind::class_id); });
        CHECK(e.file() == (dir / "ids.npy").string());
        CHECK_THAT(e.what(), Contains(expected) && Contains("is not a class id"));
    };
    ids("<i4", {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, "element [1] = -1");
    ids("<f4", {0, 0, 0xc0, 0x3f, 0, 0, 0, 0}, "element [0] = 1.5");
    ids("<i8", {0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "element [0] = 2147483648");
}

TEST_CASE("read_npy reads what numpy writes", "[data][npy][numpy]") {
    const char* python = std::getenv("NNFUSE_NUMPY_PYTHON");
    if (python == nullptr || *python == '\0') {
        WARN("NNFUSE_NUMPY_PYTHON is not set (no python3 with numpy found by meson): numpy files not checked");
        return;
    }
    scratch_dir dir;
    const std::string script =
        "import sys, numpy as np, numpy.lib.format as f\n"
        "d = sys.argv[1]\n"
        "a = np.array([[1.0, -2.5, 0.1875], [100.0, 0.0, -0.5]])\n"
        "for t in ['<f4', '>f4', '<f8', '>f8']: np.save(d + '/' + t[1:] + t[0].replace('<', 'le').replace('>', 'be')"
        " + '.npy', a.astype(t))\n"
        "np.save(d + '/fortran.npy', np.asfortranarray(a.astype('<f4')))\n"
        "for t in ['<i4', '<i8', '|u1']: np.save(d + '/' + t[1:] + '.npy', np.array([[3, 0], [7, 200]], dtype=t))\n"
        "for v in [(2, 0), (3, 0)]:\n"
        "    with open(d + '/v%d.npy' % v[0], 'wb') as o: f.write_array(o, a.astype('<f4'), version=v)\n"
        "np.save(d + '/ids.npy', np.array([2, 0], dtype='<i8'))\n";
    write_text_file(dir / "write.py", script);
    const std::string command = std::string(python) + " " + (dir / "write.py").string() + " " + dir.path().string();
    REQUIRE(std::system(command.c_str()) == 0);
    const std::vector<float> expected = {1.0f, -2.5f, 0.1875f, 100.0f, 0.0f, -0.5f};
    for (const char* name : {"f4le", "f4be", "f8le", "f8be", "fortran", "v2", "v3"}) {
        INFO(name);
        CHECK(read_npy_table(dir / (std::string(name) + ".npy")).features == expected);
    }
    for (const char* name : {"i4", "i8", "u1"}) {
        INFO(name);
        CHECK(read_npy_table(dir / (std::string(name) + ".npy")).features == std::vector<float>{3, 0, 7, 200});
    }
    CHECK(read_npy_table(dir / "u1.npy", dir / "ids.npy", target_kind::class_id).class_ids ==
          std::vector<std::int32_t>{2, 0});
}
