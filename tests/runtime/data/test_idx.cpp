// read_idx_u8: good files in every rank, raw and gzip, then one test per kind of bad file. Every error
// must name the file and say what is wrong with it.
#include "runtime/data/idx.hpp"

#include "idx_test_files.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nnfuse::read_idx_u8;
using namespace nnfuse_test;

TEST_CASE("read_idx_u8 reads ranks 1 to 4, raw and gzip", "[data][idx]") {
    scratch_dir dir;
    const bool gzip = GENERATE(false, true);
    const auto write = [&](const std::filesystem::path& file, const bytes& content) {
        gzip ? write_gz(file, content) : write_raw(file, content);
    };
    INFO((gzip ? "gzip" : "raw"));

    write(dir / "rank1", idx_u8_file({7}, counting(7)));
    write(dir / "rank2", idx_u8_file({2, 3}, counting(6)));
    write(dir / "rank3", idx_u8_file({3, 2, 5}, counting(30)));
    write(dir / "rank4", idx_u8_file({2, 1, 3, 4}, counting(24)));

    const auto r1 = read_idx_u8(dir / "rank1");
    CHECK(r1.dims == std::vector<std::uint32_t>{7});
    CHECK(r1.data == counting(7));
    const auto r2 = read_idx_u8(dir / "rank2");
    CHECK(r2.dims == std::vector<std::uint32_t>{2, 3});
    CHECK(r2.data == counting(6));
    const auto r3 = read_idx_u8(dir / "rank3");
    CHECK(r3.dims == std::vector<std::uint32_t>{3, 2, 5});
    CHECK(r3.data == counting(30));
    const auto r4 = read_idx_u8(dir / "rank4");
    CHECK(r4.dims == std::vector<std::uint32_t>{2, 1, 3, 4});
    CHECK(r4.data == counting(24));
}

TEST_CASE("read_idx_u8 decides compression by content, not by the file name", "[data][idx]") {
    scratch_dir dir;
    write_gz(dir / "compressed.idx", idx_u8_file({4}, counting(4)));
    write_raw(dir / "plain.gz", idx_u8_file({4}, counting(4)));
    CHECK(read_idx_u8(dir / "compressed.idx").data == counting(4));
    CHECK(read_idx_u8(dir / "plain.gz").data == counting(4));
}

TEST_CASE("read_idx_u8 reads payloads larger than its 16 MiB read chunk", "[data][idx]") {
    scratch_dir dir;
    const std::size_t n = (std::size_t{16} << 20) * 2 + 5;
    const bytes payload = counting(n);
    write_raw(dir / "big", idx_u8_file({static_cast<std::uint32_t>(n)}, payload));
    write_gz(dir / "big.gz", idx_u8_file({static_cast<std::uint32_t>(n)}, payload));
    CHECK(read_idx_u8(dir / "big").data == payload);
    CHECK(read_idx_u8(dir / "big.gz").data == payload);
}

TEST_CASE("read_idx_u8 rejects missing and unreadable files", "[data][idx]") {
    scratch_dir dir;
    const auto missing = dir / "missing.gz";
    const std::string message = data_error_message([&] { read_idx_u8(missing); });
    CHECK_THAT(message,
               StartsWith(missing.string() + ": ") && Contains("cannot open") && Contains("No such file or directory"));

    const auto directory = dir / "a-directory";
    std::filesystem::create_directory(directory);
    CHECK_THAT(data_error_message([&] { read_idx_u8(directory); }),
               StartsWith(directory.string() + ": ") && Contains("Is a directory"));
}

TEST_CASE("read_idx_u8 rejects empty files and empty gzip streams", "[data][idx]") {
    scratch_dir dir;
    write_raw(dir / "empty", {});
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "empty"); }),
               StartsWith((dir / "empty").string() + ": ") && Contains("empty file"));
    write_gz(dir / "empty.gz", {});
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "empty.gz"); }),
               StartsWith((dir / "empty.gz").string() + ": ") && Contains("gzip stream holds no data"));
}

TEST_CASE("read_idx_u8 rejects files that end inside the header", "[data][idx]") {
    scratch_dir dir;
    write_raw(dir / "three-bytes", {0, 0, 8});
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "three-bytes"); }),
               StartsWith((dir / "three-bytes").string() + ": ") &&
                   Contains("ends inside the IDX magic number (3 of 4 bytes)"));

    bytes cut_dims = idx_u8_file({60000, 28, 28}, {});
    cut_dims.resize(cut_dims.size() - 2);
    write_gz(dir / "cut-dims.gz", cut_dims);
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "cut-dims.gz"); }),
               StartsWith((dir / "cut-dims.gz").string() + ": ") &&
                   Contains("decompressed gzip stream ends inside the IDX header: 3 dimensions need 12 bytes, got 10"));
}

TEST_CASE("read_idx_u8 rejects a wrong magic number", "[data][idx]") {
    scratch_dir dir;
    write_raw(dir / "wrong-magic", {0x01, 0x02, 0x08, 0x01, 0, 0, 0, 1, 42});
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "wrong-magic"); }),
               StartsWith((dir / "wrong-magic").string() + ": ") &&
                   Contains("not an IDX file: starts with bytes 01 02 08 01"));

    write_gz(dir / "wrong-magic.gz", {0x50, 0x4b, 0x03, 0x04, 0, 0});
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "wrong-magic.gz"); }),
               StartsWith((dir / "wrong-magic.gz").string() + ": ") &&
                   Contains("gzip content is not an IDX file: starts with bytes 50 4b 03 04"));
}

TEST_CASE("read_idx_u8 rejects garbage that is neither gzip nor IDX", "[data][idx]") {
    scratch_dir dir;
    const std::string text = "hello, this is not a data set\n";
    write_raw(dir / "train-images-idx3-ubyte.gz", bytes(text.begin(), text.end()));
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "train-images-idx3-ubyte.gz"); }),
               StartsWith((dir / "train-images-idx3-ubyte.gz").string() + ": ") &&
                   Contains("not an IDX file: starts with bytes 68 65 6c 6c") && Contains("gzip file 1f 8b"));
}

TEST_CASE("read_idx_u8 loads only unsigned bytes and names other element types", "[data][idx]") {
    scratch_dir dir;
    write_raw(dir / "float32", idx_file(0x0D, 1, {2}, bytes(8, 0)));
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "float32"); }),
               StartsWith((dir / "float32").string() + ": ") &&
                   Contains("IDX element type 0x0D (32-bit float) is not supported; only 0x08 (unsigned byte) is"));
    write_gz(dir / "int8.gz", idx_file(0x09, 1, {2}, bytes(2, 0)));
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "int8.gz"); }),
               StartsWith((dir / "int8.gz").string() + ": ") && Contains("0x09 (signed byte) is not supported"));
    write_raw(dir / "type0a", idx_file(0x0A, 1, {2}, bytes(2, 0)));
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "type0a"); }),
               StartsWith((dir / "type0a").string() + ": ") && Contains("unknown IDX element type 0x0A"));
}

TEST_CASE("read_idx_u8 accepts ranks 1 to 4 only", "[data][idx]") {
    scratch_dir dir;
    write_raw(dir / "rank0", idx_file(0x08, 0, {}, bytes(1, 0)));
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "rank0"); }),
               StartsWith((dir / "rank0").string() + ": ") && Contains("IDX rank 0 is out of range (expected 1 to 4)"));
    write_gz(dir / "rank5.gz", idx_file(0x08, 5, {1, 1, 1, 1, 1}, bytes(1, 0)));
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "rank5.gz"); }),
               StartsWith((dir / "rank5.gz").string() + ": ") && Contains("IDX rank 5 is out of range"));
}

TEST_CASE("read_idx_u8 rejects a zero dimension", "[data][idx]") {
    scratch_dir dir;
    write_raw(dir / "zero-dim", idx_u8_file({5, 0, 28}, {}));
    CHECK_THAT(
        data_error_message([&] { read_idx_u8(dir / "zero-dim"); }),
        StartsWith((dir / "zero-dim").string() + ": ") && Contains("IDX dimension 2 of 3 is zero (dims 5 x 0 x 28)"));
}

TEST_CASE("read_idx_u8 rejects absurd dimensions before allocating", "[data][idx]") {
    scratch_dir dir;
    write_raw(dir / "4gib", idx_u8_file({65536, 65536}, counting(10)));
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "4gib"); }),
               StartsWith((dir / "4gib").string() + ": ") &&
                   Contains("IDX dimensions 65536 x 65536 describe more than the 2 GiB limit"));
    // A product that overflows 64 bits if computed naively.
    write_raw(dir / "overflow", idx_u8_file({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}));
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "overflow"); }),
               StartsWith((dir / "overflow").string() + ": ") && Contains("more than the 2 GiB limit"));
    // Exactly the limit is allowed by the header, and a tiny file claiming it is simply short.
    write_gz(dir / "claims-2gib.gz", idx_u8_file({32768, 65536}, counting(10)));
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "claims-2gib.gz"); }),
               StartsWith((dir / "claims-2gib.gz").string() + ": ") &&
                   Contains("truncated: dims 32768 x 65536 need 2147483648 bytes of data, "
                            "the decompressed gzip stream holds only 10"));
}

TEST_CASE("read_idx_u8 rejects a short payload, raw and gzip", "[data][idx]") {
    scratch_dir dir;
    write_raw(dir / "short", idx_u8_file({2, 3}, counting(5)));
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "short"); }),
               StartsWith((dir / "short").string() + ": ") &&
                   Contains("truncated: dims 2 x 3 need 6 bytes of data, the file holds only 5"));
    write_gz(dir / "short.gz", idx_u8_file({2, 3}, counting(5)));
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "short.gz"); }),
               StartsWith((dir / "short.gz").string() + ": ") &&
                   Contains("truncated: dims 2 x 3 need 6 bytes of data, the decompressed gzip stream holds only 5"));
}

TEST_CASE("read_idx_u8 rejects a gzip file cut short", "[data][idx]") {
    scratch_dir dir;
    const bytes whole = gz_bytes(dir, idx_u8_file({100000}, noise(100000)));

    SECTION("in the middle of the deflate data") {
        write_raw(dir / "cut.gz", bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(whole.size() / 2)));
        CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "cut.gz"); }),
                   StartsWith((dir / "cut.gz").string() + ": ") &&
                       Contains("gzip stream is truncated (zlib: unexpected end of file)"));
    }
    SECTION("in the CRC/length trailer, after all the data") {
        write_raw(dir / "cut-trailer.gz", bytes(whole.begin(), whole.end() - 3));
        CHECK_THAT(
            data_error_message([&] { read_idx_u8(dir / "cut-trailer.gz"); }),
            StartsWith((dir / "cut-trailer.gz").string() + ": ") &&
                Contains("gzip stream is truncated (zlib: unexpected end of file) after 100008 decompressed bytes"));
    }
    SECTION("right after the gzip magic") {
        write_raw(dir / "magic-only.gz", {0x1f, 0x8b});
        CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "magic-only.gz"); }),
                   StartsWith((dir / "magic-only.gz").string() + ": ") && Contains("gzip stream is truncated"));
    }
}

TEST_CASE("read_idx_u8 rejects corrupt gzip data", "[data][idx]") {
    scratch_dir dir;
    // Compressible but varied content, so the deflate data holds Huffman-coded blocks.
    bytes payload(50000);
    for (std::size_t k = 0; k < payload.size(); ++k) payload[k] = static_cast<std::uint8_t>((k * k) % 97);
    bytes gz = gz_bytes(dir, idx_u8_file({50000}, payload));
    REQUIRE(gz.size() > 100);
    const auto file = dir / "corrupt.gz";

    SECTION("a flipped byte in the deflate data") {
        gz[gz.size() / 2] ^= 0xFF;
        write_raw(file, gz);
        CHECK_THAT(data_error_message([&] { read_idx_u8(file); }),
                   StartsWith(file.string() + ": ") && Contains("corrupt gzip data (zlib: "));
    }
    SECTION("a zeroed CRC") {
        for (std::size_t k = gz.size() - 8; k < gz.size() - 4; ++k) gz[k] = 0;
        write_raw(file, gz);
        CHECK_THAT(data_error_message([&] { read_idx_u8(file); }),
                   StartsWith(file.string() + ": ") && Contains("corrupt gzip data (zlib: incorrect data check)"));
    }
    SECTION("a wrong uncompressed length in the trailer") {
        gz[gz.size() - 4] ^= 0x01;
        write_raw(file, gz);
        CHECK_THAT(data_error_message([&] { read_idx_u8(file); }),
                   StartsWith(file.string() + ": ") && Contains("corrupt gzip data (zlib: incorrect length check)"));
    }
    SECTION("an unknown compression method in the gzip header") {
        gz[2] = 0x07;
        write_raw(file, gz);
        CHECK_THAT(
            data_error_message([&] { read_idx_u8(file); }),
            StartsWith(file.string() + ": ") && Contains("corrupt gzip data (zlib: unknown compression method)"));
    }
}

TEST_CASE("read_idx_u8 rejects data after the payload", "[data][idx]") {
    scratch_dir dir;
    write_raw(dir / "trailing", idx_u8_file({2, 3}, counting(7)));
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "trailing"); }),
               StartsWith((dir / "trailing").string() + ": ") &&
                   Contains("trailing data: 1 more bytes after the 6 bytes described by dims 2 x 3"));

    write_gz(dir / "trailing.gz", idx_u8_file({2, 3}, counting(6 + 1000)));
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "trailing.gz"); }),
               StartsWith((dir / "trailing.gz").string() + ": ") &&
                   Contains("trailing data: 1000 more bytes after the 6 bytes"));

    // zlib reads concatenated members as one stream: a second copy of the file (18 bytes) is trailing data.
    const bytes member = gz_bytes(dir, idx_u8_file({2, 3}, counting(6)));
    bytes two_members = member;
    two_members.insert(two_members.end(), member.begin(), member.end());
    write_raw(dir / "two-members.gz", two_members);
    CHECK_THAT(data_error_message([&] { read_idx_u8(dir / "two-members.gz"); }),
               StartsWith((dir / "two-members.gz").string() + ": ") &&
                   Contains("trailing data: 18 more bytes after the 6 bytes described by dims 2 x 3"));
}
