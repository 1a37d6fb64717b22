// The data sets the trainer reads (runtime/data/data_set.hpp): float_rows over the caller's arrays and over a table,
// image_rows over a uint8 image set, row_range over another set; their gathers and their errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <vector>

#include "runtime/data/csv.hpp"
#include "runtime/data/float_rows.hpp"
#include "runtime/data/image_rows.hpp"
#include "runtime/data/row_range.hpp"

namespace {

std::vector<float> gather_features(const nnfuse::data_set& set, const std::vector<std::uint32_t>& rows) {
    std::vector<float> out(rows.size() * set.features(), -1.0f);
    set.gather_features(rows, out.data());
    return out;
}

}  // namespace

TEST_CASE("float_rows views the caller's arrays and gathers any rows", "[data_set]") {
    const std::vector<float> x = {0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32};
    const std::vector<float> t = {0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f, 7.5f};
    const nnfuse::float_rows set(x, 3, t, 2);
    CHECK(set.rows() == 4);
    CHECK(set.features() == 3);
    CHECK(set.targets() == nnfuse::target_kind::float_vector);
    CHECK(set.targets_per_row() == 2);
    CHECK(gather_features(set, {3, 0, 3}) == std::vector<float>{30, 31, 32, 0, 1, 2, 30, 31, 32});
    std::vector<float> targets(4);
    set.gather_target_values(std::vector<std::uint32_t>{2, 1}, targets.data());
    CHECK(targets == std::vector<float>{4.5f, 5.5f, 2.5f, 3.5f});
    std::int32_t id = 0;
    CHECK_THROWS_AS(set.gather_class_ids(std::vector<std::uint32_t>{0}, &id), std::logic_error);
    CHECK(set.pixels().pixels.empty());

    const std::vector<std::int32_t> ids = {2, 0, 1, 1};
    const nnfuse::float_rows classes(x, 3, ids);
    CHECK(classes.targets() == nnfuse::target_kind::class_id);
    std::vector<std::int32_t> out(2);
    classes.gather_class_ids(std::vector<std::uint32_t>{0, 2}, out.data());
    CHECK(out == std::vector<std::int32_t>{2, 1});
    CHECK(nnfuse::float_rows(x, 4).targets() == nnfuse::target_kind::none);
}

TEST_CASE("float_rows refuses arrays that are not whole rows, targets that do not match, non-finite numbers",
          "[data_set][errors]") {
    const std::vector<float> x = {0, 1, 2, 3, 4, 5};
    CHECK_THROWS_WITH(nnfuse::float_rows(x, 0), "float_rows: a row must have at least one feature (features is 0)");
    CHECK_THROWS_WITH(nnfuse::float_rows(x, 4),
                      "float_rows: 6 feature values are not a positive whole number of rows of 4 features");
    CHECK_THROWS_WITH(nnfuse::float_rows(std::vector<float>{}, 2), Catch::Contains("0 feature values"));
    std::vector<float> nan = x;
    nan[4] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH(nnfuse::float_rows(nan, 3),
                      "float_rows: the feature at row 1, column 1 is nan, not a finite number");
    const std::vector<float> t = {1, std::numeric_limits<float>::infinity()};
    CHECK_THROWS_WITH(nnfuse::float_rows(x, 3, t, 1),
                      "float_rows: the target at row 1, column 0 is inf, not a finite number");
    CHECK_THROWS_WITH(nnfuse::float_rows(x, 3, std::vector<float>{1, 2, 3}, 1),
                      "float_rows: 3 target values are not 2 rows of 1 targets");
    CHECK_THROWS_WITH(nnfuse::float_rows(x, 3, std::vector<std::int32_t>{1}),
                      "float_rows: 1 class ids for 2 rows of features");
    CHECK_THROWS_WITH(nnfuse::float_rows(x, 3, std::vector<std::int32_t>{1, -1}),
                      "float_rows: the class id of row 1 is -1, below 0");
}

TEST_CASE("table_rows views a CSV table with its targets", "[data_set][csv]") {
    const auto file = std::filesystem::temp_directory_path() / "nnfuse_test_table_rows.csv";
    std::ofstream(file) << "a,b,label\n1,2,0\n3,4,1\n5,6,1\n";
    const nnfuse::table table = nnfuse::read_csv(file, {.targets = {"label"}, .kind = nnfuse::target_kind::class_id});
    std::filesystem::remove(file);
    const nnfuse::float_rows set = nnfuse::table_rows(table);
    CHECK(set.rows() == 3);
    CHECK(gather_features(set, {2, 0}) == std::vector<float>{5, 6, 1, 2});
    std::vector<std::int32_t> ids(3);
    set.gather_class_ids(std::vector<std::uint32_t>{0, 1, 2}, ids.data());
    CHECK(ids == std::vector<std::int32_t>{0, 1, 1});
}

TEST_CASE("image_rows reads pixels as pixel / 255 and offers them to the pixel path", "[data_set][pixels]") {
    nnfuse::labeled_images images{
        .count = 3, .height = 1, .width = 2, .pixels = {0, 255, 51, 102, 7, 200}, .labels = {4, 0, 9}};
    const nnfuse::image_rows set(images);
    CHECK(set.rows() == 3);
    CHECK(set.features() == 2);
    const std::vector<float> floats = gather_features(set, {2, 1});
    const std::vector<float> expected = {7.0f / 255, 200.0f / 255, 51.0f / 255, 102.0f / 255};
    for (std::size_t i = 0; i < 4; ++i) CHECK(floats[i] == Approx(expected[i]).epsilon(1e-7));
    std::vector<std::int32_t> ids(2);
    set.gather_class_ids(std::vector<std::uint32_t>{2, 1}, ids.data());
    CHECK(ids == std::vector<std::int32_t>{9, 0});
    CHECK(set.pixels().pixels.size() == 6);
    CHECK(set.pixels().row_size == 2);
    images.labels.pop_back();
    CHECK_THROWS_WITH(nnfuse::image_rows(images), "image_rows: 6 pixels and 2 labels do not make 3 images of 1x2");
    CHECK_THROWS_AS(nnfuse::image_rows(nnfuse::labeled_images{}), std::invalid_argument);
}

TEST_CASE("row_range is consecutive rows of a set, its pixels included", "[data_set][row_range]") {
    std::vector<float> x(200 * 2);
    std::vector<float> t(200);
    for (std::size_t r = 0; r < 200; ++r) x[2 * r] = static_cast<float>(r), x[2 * r + 1] = -1, t[r] = r * 0.5f;
    const nnfuse::float_rows set(x, 2, t, 1);
    const nnfuse::row_range range(set, 50, 120);
    CHECK(range.rows() == 120);
    std::vector<std::uint32_t> rows(100);  // more than one block of the shifted gather
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::uint32_t>(119 - i);
    const std::vector<float> features = gather_features(range, rows);
    std::vector<float> targets(100);
    range.gather_target_values(rows, targets.data());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        CHECK(features[2 * i] == static_cast<float>(50 + rows[i]));
        CHECK(targets[i] == (50 + rows[i]) * 0.5f);
    }
    CHECK(nnfuse::last_rows(set, 30).rows() == 30);
    CHECK(gather_features(nnfuse::last_rows(set, 30), {0})[0] == 170.0f);
    CHECK_THROWS_WITH(nnfuse::row_range(set, 150, 51),
                      "row_range: rows [150, 201) are not a non-empty range of a set of 200 rows");
    CHECK_THROWS_AS(nnfuse::row_range(set, 0, 0), std::invalid_argument);

    const nnfuse::labeled_images images{
        .count = 4, .height = 1, .width = 3, .pixels = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, .labels = {0, 1, 2, 3}};
    const nnfuse::image_rows image_set(images);
    const nnfuse::row_range tail(image_set, 1, 3);
    REQUIRE(tail.pixels().pixels.size() == 9);
    CHECK(tail.pixels().pixels[0] == 3);
    std::int32_t id = -1;
    tail.gather_class_ids(std::vector<std::uint32_t>{2}, &id);
    CHECK(id == 3);
}
