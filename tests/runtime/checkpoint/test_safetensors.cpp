// The safetensors layer: what the writer produces (checked byte by byte and through a separate JSON
// parse, not through our reader), and every class of defect the strict reader must refuse, each with a
// message that names the file and, where there is one, the tensor.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/checkpoint/checkpoint_error.hpp"
#include "runtime/checkpoint/safetensors.hpp"
#include "tests/runtime/checkpoint/checkpoint_test_support.hpp"

using checkpoint_test::float_bytes;
using checkpoint_test::safetensors_bytes;
using nnfuse::safetensors_file;

namespace {

const std::string one_f32 = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";

// Parses `bytes` as the file "model.st" and returns the error message (fails the test if it parses).
std::string rejection(const std::string& bytes) {
    try {
        safetensors_file::parse(bytes, "model.st");
    } catch (const nnfuse::checkpoint_error& error) {
        return error.what();
    }
    FAIL("accepted: " << bytes.substr(0, 200));
    return {};
}

std::span<const std::byte> as_bytes(const std::vector<float>& v) { return std::as_bytes(std::span(v)); }

}  // namespace

TEST_CASE("the writer's layout is the safetensors format", "[checkpoint][safetensors]") {
    const std::vector<float> gamma = {1.5f, -2.0f, 0.25f};
    const std::vector<float> kernel = {1, 2, 3, 4, 5, 6};
    const std::vector<std::int64_t> counter = {7};
    const std::vector<nnfuse::tensor_to_write> tensors = {
        {"layer/gamma:0", "F32", {3}, as_bytes(gamma)},
        {"layer/kernel:0", "F32", {2, 3}, as_bytes(kernel)},
        {"training/count", "I64", {}, std::as_bytes(std::span(counter))},
    };
    const std::string file = nnfuse::serialize_safetensors(tensors, {{"model", "m"}, {"note", "ünïcode"}});

    std::uint64_t n = 0;
    for (int k = 7; k >= 0; --k) n = (n << 8) | static_cast<unsigned char>(file[static_cast<std::size_t>(k)]);
    REQUIRE(8 + n <= file.size());
    const std::string header = file.substr(8, n);
    CHECK(header.front() == '{');
    CHECK(n % 8 == 0);
    const auto last = header.find_last_not_of(' ');
    CHECK(header[last] == '}');  // only spaces after the JSON
    const auto json = nlohmann::json::parse(header);
    CHECK(json["__metadata__"]["model"] == "m");
    CHECK(json["__metadata__"]["note"] == "ünïcode");
    CHECK(json["layer/kernel:0"]["shape"] == nlohmann::json::array({2, 3}));
    CHECK(json["training/count"]["shape"] == nlohmann::json::array());
    CHECK(json["training/count"]["dtype"] == "I64");

    // Widest dtype first (the 8-byte counter is 8-aligned), then by name; contiguous from 0; nothing after.
    CHECK(json["training/count"]["data_offsets"] == nlohmann::json::array({0, 8}));
    CHECK(json["layer/gamma:0"]["data_offsets"] == nlohmann::json::array({8, 20}));
    CHECK(json["layer/kernel:0"]["data_offsets"] == nlohmann::json::array({20, 44}));
    CHECK(file.size() == 8 + n + 44);
    std::int64_t stored_counter = 0;
    std::memcpy(&stored_counter, file.data() + 8 + n, 8);
    CHECK(stored_counter == 7);
    CHECK(file.substr(8 + n + 8, 12) == float_bytes({1.5f, -2.0f, 0.25f}));

    SECTION("the same tensors give the same bytes") {
        CHECK(nnfuse::serialize_safetensors(tensors, {{"model", "m"}, {"note", "ünïcode"}}) == file);
    }
    SECTION("and the reader gives them back") {
        const auto parsed = safetensors_file::parse(file, "x");
        CHECK(parsed.metadata().at("note") == "ünïcode");
        REQUIRE(parsed.tensors().size() == 3);
        const auto& k = parsed.tensors().at("layer/kernel:0");
        CHECK(k.dtype == "F32");
        CHECK(k.shape == std::vector<std::uint64_t>{2, 3});
        CHECK(parsed.data(k) == float_bytes({1, 2, 3, 4, 5, 6}));
    }
}

TEST_CASE("the writer refuses what it cannot describe", "[checkpoint][safetensors]") {
    const std::vector<float> three = {1, 2, 3};
    const auto write = [&](std::string name, std::string dtype, std::vector<std::uint64_t> shape) {
        const std::vector<nnfuse::tensor_to_write> t = {
            {std::move(name), std::move(dtype), std::move(shape), as_bytes(three)}};
        return nnfuse::serialize_safetensors(t, {});
    };
    CHECK_THROWS_WITH(write("a", "F32", {4}),
                      Catch::Contains("tensor `a`") && Catch::Contains("12 bytes for shape [4]"));
    CHECK_THROWS_WITH(write("a", "F31", {3}), Catch::Contains("unknown dtype F31"));
    CHECK_THROWS_WITH(write("__metadata__", "F32", {3}), Catch::Contains("invalid tensor name"));
    CHECK_THROWS_WITH(write("", "F32", {3}), Catch::Contains("invalid tensor name"));
    const std::vector<nnfuse::tensor_to_write> twice = {{"a", "F32", {3}, as_bytes(three)},
                                                        {"a", "F32", {3}, as_bytes(three)}};
    CHECK_THROWS_WITH(nnfuse::serialize_safetensors(twice, {}), Catch::Contains("duplicate tensor name `a`"));
}

TEST_CASE("files the format allows are read", "[checkpoint][safetensors]") {
    SECTION("no tensors") { CHECK(safetensors_file::parse(safetensors_bytes("{}      "), "x").tensors().empty()); }
    SECTION("an empty tensor and a scalar") {
        const auto f =
            safetensors_file::parse(safetensors_bytes(R"({"e":{"dtype":"F32","shape":[2,0],"data_offsets":[0,0]},)"
                                                      R"("s":{"dtype":"I64","shape":[],"data_offsets":[0,8]}})",
                                                      std::string(8, '\x01')),
                                    "x");
        CHECK(f.data(f.tensors().at("e")).empty());
        CHECK(f.data(f.tensors().at("s")).size() == 8);
    }
    SECTION("a foreign dtype, with metadata") {
        const auto f = safetensors_file::parse(
            safetensors_bytes(
                R"({"__metadata__":{"format":"pt"},"h":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]}})",
                std::string(6, '\0')),
            "x");
        CHECK(f.metadata().at("format") == "pt");
        CHECK(f.tensors().at("h").dtype == "BF16");
    }
}

TEST_CASE("the reader refuses every defect, naming the file and the tensor", "[checkpoint][safetensors]") {
    SECTION("shorter than the 8-byte length") {
        CHECK_THAT(rejection(""), Catch::StartsWith("model.st: ") && Catch::Contains("too short"));
        CHECK_THAT(rejection("1234567"), Catch::Contains("file of 7 bytes is too short"));
    }
    SECTION("a header length over 100 MB, even where length + 8 would overflow") {
        CHECK_THAT(rejection(safetensors_bytes("{}", "", 100'000'001)),
                   Catch::Contains("header length 100000001 is over the limit"));
        CHECK_THAT(rejection(safetensors_bytes("{}", "", ~std::uint64_t{0} - 1)), Catch::Contains("is over the limit"));
    }
    SECTION("a header length past the end of the file") {
        CHECK_THAT(rejection(safetensors_bytes("{}", "", 3)),
                   Catch::Contains("header length 3 runs past the end of the file (2 bytes"));
    }
    SECTION("a header that is not UTF-8") {
        CHECK_THAT(rejection(safetensors_bytes("{\"\xff\":1}")), Catch::Contains("not valid UTF-8 (byte 2"));
        CHECK_THAT(rejection(safetensors_bytes("{\"\xc0\x80\":1}")), Catch::Contains("not valid UTF-8"));  // overlong
        CHECK_THAT(rejection(safetensors_bytes("{\"\xed\xa0\x80\":1}")),
                   Catch::Contains("not valid UTF-8"));                                               // surrogate
        CHECK_THAT(rejection(safetensors_bytes("{\"\xe2\x82")), Catch::Contains("not valid UTF-8"));  // cut short
    }
    SECTION("a header that is not a JSON object") {
        CHECK_THAT(rejection(safetensors_bytes(" {}")), Catch::Contains("does not start with '{'"));
        CHECK_THAT(rejection(safetensors_bytes("[1,2]")), Catch::Contains("does not start with '{'"));
        CHECK_THAT(rejection(safetensors_bytes("")), Catch::Contains("does not start with '{'"));
        CHECK_THAT(rejection(safetensors_bytes("{\"a\":")), Catch::Contains("header is not valid JSON"));
        CHECK_THAT(rejection(safetensors_bytes("{} {}")), Catch::Contains("header is not valid JSON"));
        CHECK_THAT(rejection(safetensors_bytes("{\"a\":{\"shape\":[[[1]]]}}")),
                   Catch::Contains("deeper than safetensors allows"));
    }
    SECTION("duplicate names and keys") {
        const std::string t = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
        CHECK_THAT(rejection(safetensors_bytes("{\"w\":" + t + ",\"w\":" + t + "}", float_bytes({1}))),
                   Catch::Contains("duplicate tensor name `w`"));
        CHECK_THAT(rejection(safetensors_bytes(
                       R"({"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}})", float_bytes({1}))),
                   Catch::Contains("duplicate key \"dtype\""));
        CHECK_THAT(rejection(safetensors_bytes(R"({"__metadata__":{"k":"1","k":"2"}})")),
                   Catch::Contains("duplicate key \"k\""));
    }
    SECTION("metadata that is not a map of strings") {
        CHECK_THAT(rejection(safetensors_bytes(R"({"__metadata__":{"epoch":3}})")),
                   Catch::Contains("__metadata__ \"epoch\" holds number, not a string"));
        CHECK_THAT(rejection(safetensors_bytes(R"({"__metadata__":[]})")),
                   Catch::Contains("__metadata__ is not an object"));
    }
    SECTION("tensor entries of the wrong form") {
        CHECK_THAT(
            rejection(safetensors_bytes(R"({"a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}})", float_bytes({1}))),
            Catch::Contains("model.st: tensor `a`: unknown dtype \"F31\""));
        CHECK_THAT(rejection(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1]}})")),
                   Catch::Contains("tensor `a`: missing \"data_offsets\""));
        CHECK_THAT(rejection(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})",
                                               float_bytes({1}))),
                   Catch::Contains("tensor `a`: unknown field \"x\""));
        CHECK_THAT(rejection(safetensors_bytes(R"({"a":[1]})")), Catch::Contains("tensor `a`: expected an object"));
        CHECK_THAT(
            rejection(safetensors_bytes(R"({"":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})", float_bytes({1}))),
            Catch::Contains("empty name"));
        CHECK_THAT(rejection(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})")),
                   Catch::Contains("tensor `a`: shape holds -1, not a non-negative integer"));
        CHECK_THAT(rejection(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}})")),
                   Catch::Contains("not a non-negative integer"));
        CHECK_THAT(rejection(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,"4"]}})")),
                   Catch::Contains("tensor `a`: data_offsets holds \"4\""));
        CHECK_THAT(rejection(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})")),
                   Catch::Contains("data_offsets must be [begin, end]"));
    }
    SECTION("sizes that overflow or do not match shape x dtype") {
        CHECK_THAT(rejection(safetensors_bytes(
                       R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})")),
                   Catch::Contains("tensor `a`: shape [4294967296, 4294967296]... has more elements than 64 bits"));
        CHECK_THAT(
            rejection(safetensors_bytes(R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]}})")),
            Catch::Contains("overflows a 64-bit byte count"));
        CHECK_THAT(rejection(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                                               std::string(8, '\0'))),
                   Catch::Contains("tensor `a`: data_offsets [0, 8] hold 8 bytes, but shape [3] of F32 needs 12"));
        CHECK_THAT(rejection(safetensors_bytes(R"({"a":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}})", "x")),
                   Catch::Contains("do not fill whole bytes"));
        CHECK_THAT(rejection(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})",
                                               std::string(8, '\0'))),
                   Catch::Contains("tensor `a`: data_offsets [8, 4] end before they begin"));
    }
    SECTION("offsets that run past the data, overlap or leave gaps") {
        CHECK_THAT(
            rejection(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", float_bytes({1}))),
            Catch::Contains("tensor `a`: data_offsets [0, 8] run past the end of the data (4 bytes)"));
        // The lie of mlx#3363: a big shape over a few bytes.
        CHECK_THAT(rejection(safetensors_bytes(
                       R"({"a":{"dtype":"F32","shape":[1000,1000],"data_offsets":[0,4000000]}})", float_bytes({1}))),
                   Catch::Contains("run past the end of the data"));
        // Aliased ranges (lattice#752).
        CHECK_THAT(rejection(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                               R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                               float_bytes({1}))),
                   Catch::Contains("tensor `b`: data_offsets [0, 4] overlap tensor `a`"));
        CHECK_THAT(rejection(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                               R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                               float_bytes({1, 2}))),
                   Catch::Contains("overlap"));
        CHECK_THAT(rejection(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                               R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                               float_bytes({1, 2, 3}))),
                   Catch::Contains("tensor `b`: data_offsets [8, 12] leave a gap of 4 bytes after tensor `a`"));
        CHECK_THAT(rejection(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                               float_bytes({1, 2}))),
                   Catch::Contains("leave a gap of 4 bytes after the start of the data"));
    }
    SECTION("trailing bytes") {
        CHECK_THAT(rejection(safetensors_bytes(one_f32, float_bytes({1}) + "xy")),
                   Catch::Contains("2 trailing bytes after the last tensor"));
        CHECK_THAT(rejection(safetensors_bytes("{}", "z")), Catch::Contains("1 trailing bytes"));
    }
}

TEST_CASE("read_safetensors names the path and refuses what is not a file", "[checkpoint][safetensors]") {
    checkpoint_test::scratch_dir dir;
    const auto good = dir / "good.safetensors";
    checkpoint_test::write_all(good, safetensors_bytes(one_f32, float_bytes({2.5f})));
    const auto f = nnfuse::read_safetensors(good);
    CHECK(f.source() == good.string());
    CHECK(f.data(f.tensors().at("a")) == float_bytes({2.5f}));

    CHECK_THROWS_WITH(nnfuse::read_safetensors(dir / "absent"),
                      (dir / "absent").string() + ": cannot open (No such file or directory)");
    CHECK_THROWS_WITH(nnfuse::read_safetensors(dir.path()), dir.path().string() + ": not a regular file");
    const auto cut = dir / "cut.safetensors";
    const std::string whole = safetensors_bytes(one_f32, float_bytes({2.5f}));
    checkpoint_test::write_all(cut, whole.substr(0, whole.size() - 2));
    CHECK_THROWS_WITH(nnfuse::read_safetensors(cut),
                      Catch::StartsWith(cut.string() + ": ") && Catch::Contains("tensor `a`"));
}
