// load_labeled_images: pairing an image file with a label file, and the checks across the two.
#include "runtime/data/labeled_images.hpp"

#include "idx_test_files.hpp"

#include <stdexcept>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nnfuse::load_labeled_images;
using namespace nnfuse_test;

TEST_CASE("load_labeled_images reads a consistent pair", "[data][labeled_images]") {
    scratch_dir dir;
    write_gz(dir / "images.gz", idx_u8_file({3, 2, 4}, counting(24)));
    write_raw(dir / "labels", idx_u8_file({3}, {2, 0, 9}));
    const auto split = load_labeled_images(dir / "images.gz", dir / "labels", 10);
    CHECK(split.count == 3);
    CHECK(split.height == 2);
    CHECK(split.width == 4);
    CHECK(split.pixels == counting(24));
    CHECK(split.labels == bytes{2, 0, 9});
}

TEST_CASE("load_labeled_images checks ranks", "[data][labeled_images]") {
    scratch_dir dir;
    write_raw(dir / "images", idx_u8_file({3, 2, 4}, counting(24)));
    write_raw(dir / "labels", idx_u8_file({3}, {0, 1, 2}));
    write_raw(dir / "flat-images", idx_u8_file({24}, counting(24)));
    write_raw(dir / "image-labels", idx_u8_file({3, 1, 1}, {0, 1, 2}));
    CHECK_THAT(data_error_message([&] { load_labeled_images(dir / "flat-images", dir / "labels", 10); }),
               StartsWith((dir / "flat-images").string() + ": ") &&
                   Contains("expected images of rank 3 (count x height x width), got rank 1"));
    CHECK_THAT(data_error_message([&] { load_labeled_images(dir / "images", dir / "image-labels", 10); }),
               StartsWith((dir / "image-labels").string() + ": ") &&
                   Contains("expected labels of rank 1 (count), got rank 3"));
}

TEST_CASE("load_labeled_images requires as many labels as images", "[data][labeled_images]") {
    scratch_dir dir;
    write_raw(dir / "images", idx_u8_file({3, 2, 4}, counting(24)));
    write_raw(dir / "labels", idx_u8_file({2}, {0, 1}));
    CHECK_THAT(
        data_error_message([&] { load_labeled_images(dir / "images", dir / "labels", 10); }),
        Contains((dir / "images").string() + ": holds 3 images, but " + (dir / "labels").string() + " holds 2 labels"));
}

TEST_CASE("load_labeled_images rejects a label out of range, naming index and value", "[data][labeled_images]") {
    scratch_dir dir;
    write_raw(dir / "images", idx_u8_file({4, 1, 1}, counting(4)));
    write_gz(dir / "labels.gz", idx_u8_file({4}, {0, 9, 10, 3}));
    CHECK_THAT(data_error_message([&] { load_labeled_images(dir / "images", dir / "labels.gz", 10); }),
               StartsWith((dir / "labels.gz").string() + ": ") &&
                   Contains("label 10 at index 2 is out of range for 10 classes (0 to 9)"));
    CHECK_NOTHROW(load_labeled_images(dir / "images", dir / "labels.gz", 11));
}

TEST_CASE("load_labeled_images passes on the reader's errors and checks classes", "[data][labeled_images]") {
    scratch_dir dir;
    write_raw(dir / "images", idx_u8_file({1, 1, 1}, {7}));
    CHECK_THAT(data_error_message([&] { load_labeled_images(dir / "images", dir / "no-labels", 10); }),
               StartsWith((dir / "no-labels").string() + ": ") && Contains("cannot open"));
    CHECK_THROWS_AS(load_labeled_images(dir / "images", dir / "images", 0), std::invalid_argument);
}
