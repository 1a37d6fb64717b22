// samples/common/plot: figures rendered by gnuplot into SVG and PNG files, with their script beside them.
// Needs gnuplot (scripts/setup.sh installs gnuplot-nox).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include "runtime/report/history.hpp"
#include "samples/common/plot.hpp"

namespace {

namespace fs = std::filesystem;

// A fresh directory per test case, removed afterwards.
struct temp_dir {
    fs::path path;
    temp_dir() {
        path = fs::temp_directory_path() /
               ("nnfuse-test-plot-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    static int& counter() {
        static int n = 0;
        return n;
    }
};

std::string slurp(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

samples::figure two_panels() {
    samples::figure fig{"title with_underscore", {}};
    samples::plot_panel linear{.title = "linear", .x_label = "epoch", .y_label = "loss"};
    linear.lines.push_back({"no_bn train", {1, 2, 3}, {2.3, 1.1, 0.7}, 1, false});
    linear.lines.push_back({"it's dashed", {1, 2, 3}, {2.2, std::nan(""), 0.8}, 0, true});
    samples::plot_panel log{.title = "log", .x_label = "layer", .y_label = "norm", .log_y = true};
    log.lines.push_back({"bn", {1, 2, 3}, {1e-6, 0.0, 1.0}, 2, false});  // 0 is a gap on a log axis
    fig.panels = {linear, log};
    return fig;
}

}  // namespace

TEST_CASE("render writes an SVG and the gnuplot script that drew it", "[plot]") {
    temp_dir dir;
    const fs::path file = dir.path / "figure.svg";
    samples::render(two_panels(), file);
    const std::string svg = slurp(file);
    CHECK(svg.find("<svg") != std::string::npos);
    CHECK(svg.find("no_bn train") != std::string::npos);  // legend text, underscore kept
    const std::string script = slurp(dir.path / "figure.gp");
    CHECK(script.find("set logscale y") != std::string::npos);
    CHECK(script.find("'it''s dashed'") != std::string::npos);  // a quote inside a gnuplot string
    CHECK(script.find("2 NaN") != std::string::npos);           // not finite: a gap
    CHECK(script.find("2 NaN\n3 1\n") != std::string::npos);    // not positive on the log axis: a gap
}

TEST_CASE("render writes a PNG when the file ends in .png", "[plot]") {
    temp_dir dir;
    const fs::path file = dir.path / "figure.png";
    samples::render(two_panels(), file);
    const std::string png = slurp(file);
    REQUIRE(png.size() > 8);
    CHECK(png.substr(1, 3) == "PNG");
}

TEST_CASE("render refuses other file types and unequal x and y", "[plot]") {
    temp_dir dir;
    CHECK_THROWS_AS(samples::render(two_panels(), dir.path / "figure.pdf"), samples::plot_error);
    CHECK_FALSE(fs::exists(dir.path / "figure.gp"));
    CHECK_THROWS_AS(samples::check_plot_file("history.csv"), samples::plot_error);
    CHECK_NOTHROW(samples::check_plot_file("out/history.svg"));
    CHECK_NOTHROW(samples::check_plot_file("history.png"));
    samples::figure bad{"", {}};
    bad.panels.push_back({.title = "p"});
    bad.panels.back().lines.push_back({"l", {1, 2}, {1}, 0, false});
    CHECK_THROWS_AS(samples::render(bad, dir.path / "bad.svg"), std::invalid_argument);
}

TEST_CASE("plot_history draws loss and accuracy, with validation when recorded", "[plot]") {
    temp_dir dir;
    nnfuse::history history;
    history.record_epoch(
        std::vector<nnfuse::metric>{{"loss", 0.9}, {"accuracy", 0.7}, {"val_loss", 0.8}, {"val_accuracy", 0.72}}, 1.0);
    history.record_epoch(
        std::vector<nnfuse::metric>{{"loss", 0.6}, {"accuracy", 0.8}, {"val_loss", 0.65}, {"val_accuracy", 0.78}}, 1.0);
    const fs::path file = dir.path / "history.svg";
    samples::plot_history(history, file, "fashion_mnist");
    CHECK(fs::file_size(file) > 0);
    const std::string script = slurp(dir.path / "history.gp");
    CHECK(script.find("'validation'") != std::string::npos);
    CHECK(script.find("1 0.9\n2 0.6\n") != std::string::npos);  // epochs numbered from 1

    CHECK_THROWS_AS(samples::plot_history(nnfuse::history{}, dir.path / "empty.svg", "empty"), std::invalid_argument);
}
