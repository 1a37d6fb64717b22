// Line charts the samples draw, rendered by gnuplot (Debian package gnuplot-nox).
//
// A figure is one or more panels side by side; a panel holds lines of (x, y) points.
// render(figure, file):
//   requires: file ends in .svg or .png; every line has as many x as y values.
//   ensures:  file holds the figure, and next to it file with the extension .gp holds the gnuplot
//             script that drew it, data included (`gnuplot NAME.gp` in that directory redraws it:
//             edit it to restyle a plot without training again).
//   A y value that is not finite, or not positive on a log axis, is a gap in its line.
//   throws plot_error: another extension, gnuplot not installed (the message says which package
//   provides it), or gnuplot failing (its own message). The script is written in every case but
//   the first, so a user without gnuplot can still render it elsewhere.
// check_plot_file(file): throws plot_error unless file ends in .svg or .png (render's rule), so a
//   command line can refuse a bad --plot before training rather than after.
// plot_history(history, file, title, metric, loss_name): a fit's loss and metric (Keras's name: "accuracy", "mae",
//   ...) per epoch (epochs numbered from 1), the training values solid and, when the history has them, val_loss /
//   val_<metric> dashed; loss_name labels the loss axis ("loss (cross-entropy)").
//   requires: the history has at least one epoch with "loss" or the metric. Same file rules and errors.
// draw_history(...): plot_history for a sample after its training: prints "Plot: <file>", or, when the plot cannot
//   be drawn (no gnuplot, ...), a note on stderr instead of failing: the training is done.
#pragma once

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/report/history.hpp"

namespace samples {

struct plot_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct plot_line {
    std::string title;  // legend entry
    std::vector<double> x{}, y{};
    int color = 0;  // index into a colour-blind-safe palette; lines of one variant share it
    bool dashed = false;
};

struct plot_panel {
    std::string title{}, x_label{}, y_label{};
    bool log_y = false;
    bool integer_x = true;        // ticks only at whole numbers (epochs, layers)
    std::size_t key_columns = 2;  // the legend, below the graph, fills its columns in the lines' order
    std::vector<plot_line> lines{};
};

struct figure {
    std::string title;
    std::vector<plot_panel> panels{};  // left to right
};

void render(const figure& fig, const std::filesystem::path& file);
void check_plot_file(const std::filesystem::path& file);

void plot_history(const nnfuse::history& history, const std::filesystem::path& file, std::string_view title,
                  std::string_view metric = "accuracy", std::string_view loss_name = "cross-entropy");
void draw_history(const nnfuse::history& history, const std::filesystem::path& file, std::string_view title,
                  std::string_view metric = "accuracy", std::string_view loss_name = "cross-entropy");

}  // namespace samples
