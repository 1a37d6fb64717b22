// write_file_atomically and check_writable: replacement (never truncation), no leftovers, and errors
// that name the path and leave the old file alone. Interrupted saves are tested by killing a saving
// process (test_kill_during_save.cpp).
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

#include "runtime/checkpoint/atomic_file.hpp"
#include "runtime/checkpoint/checkpoint_error.hpp"
#include "tests/runtime/checkpoint/checkpoint_test_support.hpp"

using checkpoint_test::read_all;
using checkpoint_test::scratch_dir;

namespace {

std::size_t entries(const std::filesystem::path& dir) {
    return static_cast<std::size_t>(
        std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()));
}

}  // namespace

TEST_CASE("an atomic write creates or replaces the file and leaves nothing else", "[checkpoint][atomic]") {
    scratch_dir dir;
    const auto target = dir / "model.safetensors";
    nnfuse::write_file_atomically(target, "first");
    CHECK(read_all(target) == "first");
    nnfuse::write_file_atomically(target, std::string(100000, 'x'));
    CHECK(read_all(target) == std::string(100000, 'x'));
    nnfuse::write_file_atomically(target, "");
    CHECK(read_all(target).empty());
    CHECK(entries(dir.path()) == 1);
}

TEST_CASE("a reader of the old file keeps reading the old bytes", "[checkpoint][atomic]") {
    scratch_dir dir;
    const auto target = dir / "model.safetensors";
    nnfuse::write_file_atomically(target, "old content");
    std::ifstream reader(target, std::ios::binary);
    nnfuse::write_file_atomically(target, "new");
    const std::string seen{std::istreambuf_iterator<char>(reader), std::istreambuf_iterator<char>()};
    CHECK(seen == "old content");
    CHECK(read_all(target) == "new");
}

TEST_CASE("a save that cannot happen names the path and changes nothing", "[checkpoint][atomic]") {
    scratch_dir dir;
    SECTION("missing directory") {
        const auto target = dir / "no/such/dir/model.safetensors";
        CHECK_THROWS_WITH(nnfuse::write_file_atomically(target, "x"),
                          Catch::StartsWith(target.string() + ": cannot save (creating ") &&
                              Catch::EndsWith("No such file or directory)"));
        CHECK_THROWS_AS(nnfuse::check_writable(target), nnfuse::checkpoint_error);
        CHECK(entries(dir.path()) == 0);
    }
    SECTION("a directory in the way") {
        const auto target = dir / "taken";
        std::filesystem::create_directory(target);
        std::filesystem::create_directory(target / "inside");
        CHECK_THROWS_WITH(nnfuse::write_file_atomically(target, "x"),
                          Catch::StartsWith(target.string() + ": cannot save ("));
        CHECK_THROWS_WITH(nnfuse::check_writable(target),
                          target.string() + ": cannot save (the path is a directory: Is a directory)");
        CHECK(std::filesystem::is_directory(target / "inside"));
        CHECK(entries(dir.path()) == 1);
    }
    SECTION("a file where a directory should be") {
        checkpoint_test::write_all(dir / "plain", "keep");
        CHECK_THROWS_WITH(nnfuse::write_file_atomically(dir / "plain/model.safetensors", "x"),
                          Catch::Contains("Not a directory"));
        CHECK(read_all(dir / "plain") == "keep");
    }
    SECTION("a path ending in a slash") {
        CHECK_THROWS_WITH(nnfuse::check_writable(dir.path() / ""), Catch::Contains("cannot save"));
    }
}

TEST_CASE("check_writable accepts a writable path and leaves no trace", "[checkpoint][atomic]") {
    scratch_dir dir;
    nnfuse::check_writable(dir / "model.safetensors");
    CHECK(entries(dir.path()) == 0);
    checkpoint_test::write_all(dir / "model.safetensors", "old");
    nnfuse::check_writable(dir / "model.safetensors");
    CHECK(read_all(dir / "model.safetensors") == "old");
    CHECK(entries(dir.path()) == 1);
}
