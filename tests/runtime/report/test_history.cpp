// history: per-epoch logs, Keras-style series, and the CSV file (content, round-trip, errors).
#include "runtime/report/history.hpp"

#include <unistd.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <vector>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nnfuse::history;
using nnfuse::metric;

namespace {

using metrics = std::vector<metric>;

struct temp_dir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("nnfuse-history-test-" + std::to_string(::getpid()));
    temp_dir() { std::filesystem::create_directories(path); }
    ~temp_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
};

std::string read_text(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Three epochs as fit() would log them; the third has no validation (Keras's validation_freq).
history three_epochs() {
    history h;
    h.record_epoch(
        metrics{{"loss", double(0.5964f)}, {"accuracy", double(0.7921f)}, {"val_loss", 0.45}, {"val_accuracy", 0.83}},
        12.5);
    h.record_epoch(metrics{{"loss", 0.4}, {"accuracy", 0.85}, {"val_loss", 0.41}, {"val_accuracy", 0.84}}, 11.25);
    h.record_epoch(metrics{{"loss", 0.35}, {"accuracy", 0.875}}, 11.0);
    return h;
}

}  // namespace

TEST_CASE("history keeps per-epoch values by name", "[report][history]") {
    const history h = three_epochs();
    CHECK(h.epochs() == 3);
    CHECK(h.keys() == std::vector<std::string>{"accuracy", "loss", "val_accuracy", "val_loss"});
    CHECK(h.series("loss") == std::vector<double>{double(0.5964f), 0.4, 0.35});
    CHECK(h.series("val_loss") == std::vector<double>{0.45, 0.41});
    CHECK_THROWS_AS(h.series("mae"), std::out_of_range);
    CHECK(h.value(1, "accuracy") == 0.85);
    CHECK_FALSE(h.value(2, "val_accuracy").has_value());
    CHECK(h.seconds(1) == 11.25);
}

TEST_CASE("history writes CSVLogger's layout with a seconds column", "[report][history]") {
    temp_dir dir;
    const auto file = dir.path / "history.csv";
    three_epochs().write_csv(file);
    CHECK(read_text(file) ==
          "epoch,accuracy,loss,val_accuracy,val_loss,seconds\n"
          "0,0.7921000123023987,0.5964000225067139,0.83,0.45,12.5\n"
          "1,0.85,0.4,0.84,0.41,11.25\n"
          "2,0.875,0.35,NA,NA,11\n");

    history empty;
    empty.write_csv(file);  // replaces the previous content
    CHECK(read_text(file) == "epoch,seconds\n");
}

TEST_CASE("history's CSV values read back to the same doubles", "[report][history]") {
    const std::vector<double> values = {1.0 / 3.0, 1e-300, 123456789.123456789, -2.5e-7, 0.1, 1e22};
    history h;
    for (double v : values) h.record_epoch(metrics{{"x", v}}, v > 0 ? v : 0.0);
    h.record_epoch(metrics{{"x", std::numeric_limits<double>::quiet_NaN()}}, 0.0);
    temp_dir dir;
    h.write_csv(dir.path / "h.csv");

    std::istringstream csv(read_text(dir.path / "h.csv"));
    std::string line;
    std::getline(csv, line);
    CHECK(line == "epoch,x,seconds");
    for (std::size_t epoch = 0; epoch <= values.size(); ++epoch) {
        REQUIRE(std::getline(csv, line));
        const auto first = line.find(','), second = line.find(',', first + 1);
        const std::string x = line.substr(first + 1, second - first - 1);
        INFO("line " << line);
        if (epoch == values.size()) {
            CHECK(x == "nan");
        } else {
            const double parsed = std::strtod(x.c_str(), nullptr);
            CHECK(std::memcmp(&parsed, &values[epoch], sizeof(double)) == 0);
        }
    }
}

TEST_CASE("history rejects names and times that would corrupt the CSV", "[report][history]") {
    history h;
    CHECK_THROWS_WITH(h.record_epoch(metrics{{"", 1.0}}, 1.0), Contains("empty name"));
    CHECK_THROWS_WITH(h.record_epoch(metrics{{"epoch", 1.0}}, 1.0), Contains("'epoch' is reserved"));
    CHECK_THROWS_WITH(h.record_epoch(metrics{{"seconds", 1.0}}, 1.0), Contains("'seconds' is reserved"));
    CHECK_THROWS_WITH(h.record_epoch(metrics{{"a,b", 1.0}}, 1.0), Contains("'a,b' holds a comma"));
    CHECK_THROWS_WITH(h.record_epoch(metrics{{"loss", 1.0}, {"loss", 2.0}}, 1.0), Contains("'loss' is given twice"));
    CHECK_THROWS_WITH(h.record_epoch(metrics{}, -1.0), Contains("seconds must be finite and >= 0, got -1"));
    CHECK_THROWS_AS(h.record_epoch(metrics{}, std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
    CHECK(h.epochs() == 0);
}

TEST_CASE("history's CSV errors name the file", "[report][history]") {
    const history h = three_epochs();
    temp_dir dir;
    const auto in_missing_dir = dir.path / "no-such-dir" / "history.csv";
    CHECK_THROWS_AS(h.write_csv(in_missing_dir), std::runtime_error);
    CHECK_THROWS_WITH(h.write_csv(in_missing_dir),
                      StartsWith(in_missing_dir.string() + ": cannot write the training history CSV") &&
                          Contains("No such file or directory"));
    CHECK_THROWS_WITH(h.write_csv(dir.path),
                      StartsWith(dir.path.string() + ": cannot write") && Contains("Is a directory"));
    if (std::filesystem::exists("/dev/full")) {  // opens fine, every write fails
        CHECK_THROWS_WITH(h.write_csv("/dev/full"),
                          StartsWith("/dev/full: cannot write") && Contains("No space left on device"));
    }
}
