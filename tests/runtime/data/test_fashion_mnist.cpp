// load_fashion_mnist: the real Debian files when installed, and the file-finding rules on small copies.
#include "runtime/data/fashion_mnist.hpp"

#include "idx_test_files.hpp"

#include <array>
#include <numeric>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nnfuse::fashion_mnist_data;
using nnfuse::load_fashion_mnist;
using namespace nnfuse_test;

namespace {

std::array<std::size_t, 10> class_counts(const std::vector<std::uint8_t>& labels) {
    std::array<std::size_t, 10> counts{};
    for (std::uint8_t label : labels) ++counts.at(label);
    return counts;
}

std::uint64_t pixel_sum(const std::vector<std::uint8_t>& pixels, std::size_t begin, std::size_t end) {
    return std::accumulate(pixels.begin() + static_cast<std::ptrdiff_t>(begin),
                           pixels.begin() + static_cast<std::ptrdiff_t>(end), std::uint64_t{0});
}

// Writes a tiny Fashion-MNIST look-alike: `count` images of height x width per split.
void write_small_set(const scratch_dir& dir, bool gzip, std::uint32_t height = 28, std::uint32_t width = 28) {
    const auto write = [&](const std::string& stem, const bytes& content) {
        gzip ? write_gz(dir / (stem + ".gz"), content) : write_raw(dir / stem, content);
    };
    write("train-images-idx3-ubyte", idx_u8_file({3, height, width}, counting(3 * height * width)));
    write("train-labels-idx1-ubyte", idx_u8_file({3}, {9, 0, 5}));
    write("t10k-images-idx3-ubyte", idx_u8_file({2, height, width}, counting(2 * height * width)));
    write("t10k-labels-idx1-ubyte", idx_u8_file({2}, {1, 2}));
}

}  // namespace

TEST_CASE("load_fashion_mnist reads the installed data set", "[data][fashion_mnist]") {
    if (!std::filesystem::is_directory(nnfuse::fashion_mnist_default_dir)) {
        WARN("skipped: " << nnfuse::fashion_mnist_default_dir << " is absent (package dataset-fashion-mnist)");
        return;
    }
    const fashion_mnist_data data = load_fashion_mnist();

    CHECK(data.train.count == 60000);
    CHECK(data.train.height == 28);
    CHECK(data.train.width == 28);
    CHECK(data.train.pixels.size() == 60000u * 28 * 28);
    CHECK(data.train.labels.size() == 60000);
    CHECK(data.test.count == 10000);
    CHECK(data.test.height == 28);
    CHECK(data.test.width == 28);
    CHECK(data.test.pixels.size() == 10000u * 28 * 28);
    CHECK(data.test.labels.size() == 10000);

    // Balanced classes, all present and < 10 (class_counts' .at() would throw otherwise).
    std::array<std::size_t, 10> train_counts{}, test_counts{};
    train_counts.fill(6000);
    test_counts.fill(1000);
    CHECK(class_counts(data.train.labels) == train_counts);
    CHECK(class_counts(data.test.labels) == test_counts);

    // Content fingerprints, computed independently (Python's gzip module) from the same files.
    CHECK(std::vector<int>(data.train.labels.begin(), data.train.labels.begin() + 10) ==
          std::vector<int>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5});
    CHECK(std::vector<int>(data.test.labels.begin(), data.test.labels.begin() + 10) ==
          std::vector<int>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7});
    CHECK(pixel_sum(data.train.pixels, 0, 784) == 76247);
    CHECK(pixel_sum(data.train.pixels, 0, data.train.pixels.size()) == 3431114169u);
    CHECK(pixel_sum(data.test.pixels, 0, 784) == 33456);
    CHECK(pixel_sum(data.test.pixels, 0, data.test.pixels.size()) == 573469082u);
}

TEST_CASE("load_fashion_mnist prefers .gz and falls back to uncompressed names", "[data][fashion_mnist]") {
    const bool gzip = GENERATE(false, true);
    INFO((gzip ? "gzip" : "raw"));
    scratch_dir dir;
    write_small_set(dir, gzip);
    const fashion_mnist_data data = load_fashion_mnist(dir.path());
    CHECK(data.train.count == 3);
    CHECK(data.train.labels == bytes{9, 0, 5});
    CHECK(data.train.pixels == counting(3 * 784));
    CHECK(data.test.count == 2);
    CHECK(data.test.labels == bytes{1, 2});
}

TEST_CASE("load_fashion_mnist says which file is missing and which package provides it", "[data][fashion_mnist]") {
    scratch_dir dir;
    const auto missing_dir = dir / "not-installed";
    CHECK_THAT(data_error_message([&] { load_fashion_mnist(missing_dir); }),
               StartsWith(missing_dir.string() + ": no such directory") && Contains("dataset-fashion-mnist"));

    write_small_set(dir, true);
    std::filesystem::remove(dir / "t10k-labels-idx1-ubyte.gz");
    CHECK_THAT(data_error_message([&] { load_fashion_mnist(dir.path()); }),
               StartsWith((dir / "t10k-labels-idx1-ubyte.gz").string() + ": no such file (nor " +
                          (dir / "t10k-labels-idx1-ubyte").string() + ")") &&
                   Contains("the Debian package dataset-fashion-mnist provides it"));
}

TEST_CASE("load_fashion_mnist requires 28x28 images and labels below 10", "[data][fashion_mnist]") {
    scratch_dir dir;
    write_small_set(dir, false, 5, 5);
    CHECK_THAT(data_error_message([&] { load_fashion_mnist(dir.path()); }),
               StartsWith((dir / "train-images-idx3-ubyte").string() + ": ") && Contains("28x28") && Contains("5x5"));

    scratch_dir bad_labels;
    write_small_set(bad_labels, false);
    write_raw(bad_labels / "t10k-labels-idx1-ubyte", idx_u8_file({2}, {1, 10}));
    CHECK_THAT(data_error_message([&] { load_fashion_mnist(bad_labels.path()); }),
               StartsWith((bad_labels / "t10k-labels-idx1-ubyte").string() + ": ") &&
                   Contains("label 10 at index 1 is out of range for 10 classes"));
}
