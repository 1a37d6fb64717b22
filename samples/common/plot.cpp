#include "samples/common/plot.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/core.h>

extern char** environ;

namespace samples {

namespace {

// Okabe & Ito's colour-blind-safe palette: blue, vermillion, bluish green, reddish purple, orange, sky blue.
constexpr std::array<std::string_view, 6> palette = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"};

constexpr int panel_width = 560, panel_height = 480, title_height = 40;

// A gnuplot single-quoted string: nothing is special in it but the quote, written twice.
std::string gp_string(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        out += c;
        if (c == '\'') out += '\'';
    }
    return out + "'";
}

std::string terminal_for(const std::filesystem::path& file, std::size_t panels, bool has_title) {
    const int width = panel_width * static_cast<int>(std::max<std::size_t>(panels, 1));
    const int height = panel_height + (has_title ? title_height : 0);
    const std::string extension = file.extension().string();
    // Enhanced text for 10^{-5} tick labels; every text of ours is marked noenhanced, so "no_bn"
    // keeps its underscore.
    if (extension == ".svg") {
        return fmt::format("set terminal svg size {},{} enhanced font 'sans-serif,13' background rgb 'white'", width,
                           height);
    }
    if (extension == ".png") {
        return fmt::format("set terminal pngcairo size {},{} enhanced font 'sans-serif,11' background rgb 'white'",
                           width, height);
    }
    throw plot_error(fmt::format("cannot draw {}: a plot file must end in .svg or .png", file.string()));
}

std::string script_for(const figure& fig, const std::filesystem::path& file) {
    std::ostringstream gp;
    gp << "# Drawn by an nnfuse sample; `gnuplot " << file.filename().replace_extension(".gp").string()
       << "` in this directory redraws " << file.filename().string() << ".\n";
    gp << terminal_for(file, fig.panels.size(), !fig.title.empty()) << "\n";
    gp << "set output " << gp_string(file.filename().string()) << "\n";
    gp << "set datafile missing 'NaN'\n\n";

    for (std::size_t p = 0; p < fig.panels.size(); ++p) {
        const plot_panel& panel = fig.panels[p];
        for (std::size_t l = 0; l < panel.lines.size(); ++l) {
            const plot_line& line = panel.lines[l];
            if (line.x.size() != line.y.size()) {
                throw std::invalid_argument(fmt::format("plot line '{}' has {} x values and {} y values", line.title,
                                                        line.x.size(), line.y.size()));
            }
            gp << "$p" << p << "_l" << l << " << EOD\n";
            for (std::size_t i = 0; i < line.x.size(); ++i) {
                const double y = line.y[i];
                const bool gap = !std::isfinite(y) || (panel.log_y && y <= 0.0);
                gp << fmt::format("{} {}\n", line.x[i], gap ? std::string("NaN") : fmt::format("{}", y));
            }
            gp << "EOD\n";
        }
    }

    gp << "\nset multiplot layout 1," << std::max<std::size_t>(fig.panels.size(), 1);
    if (!fig.title.empty()) gp << " title " << gp_string(fig.title) << " noenhanced font 'sans-serif,14'";
    gp << "\n";
    for (std::size_t p = 0; p < fig.panels.size(); ++p) {
        const plot_panel& panel = fig.panels[p];
        gp << "\nreset\n";
        gp << "set title " << gp_string(panel.title) << " noenhanced\n";
        gp << "set xlabel " << gp_string(panel.x_label) << " noenhanced\n";
        gp << "set ylabel " << gp_string(panel.y_label) << " noenhanced\n";
        gp << "set grid back lc rgb '#dddddd'\n";
        gp << "set border 3 lc rgb '#555555'\nset tics nomirror\n";
        // Below the graph, where it hides no data; filled column by column.
        const std::size_t columns = std::max<std::size_t>(panel.key_columns, 1);
        const std::size_t rows = std::max<std::size_t>((panel.lines.size() + columns - 1) / columns, 1);
        gp << "set key outside below center vertical maxrows " << rows
           << " reverse Left noenhanced samplen 3 width 2 height 0.5\n";
        if (panel.integer_x) {
            double lo = std::numeric_limits<double>::infinity(), hi = -lo;
            for (const plot_line& line : panel.lines) {
                for (double x : line.x) lo = std::min(lo, x), hi = std::max(hi, x);
            }
            const double step = std::isfinite(lo) ? std::max(1.0, std::ceil((hi - lo) / 10.0)) : 1.0;
            // xfix: the axis ends at the data, not at the next tick; the offsets keep end points off the border.
            gp << fmt::format("set xtics {}\nset autoscale xfix\nset offsets 0.3, 0.3, 0, 0\n", step);
        }
        if (panel.log_y) gp << "set logscale y\nset format y '10^{%L}'\n";
        if (panel.lines.empty()) {
            gp << "set label 1 'no data' at graph 0.5, 0.5 center\nplot [0:1] NaN notitle\n";
            continue;
        }
        gp << "plot ";
        for (std::size_t l = 0; l < panel.lines.size(); ++l) {
            const plot_line& line = panel.lines[l];
            const auto color = palette[static_cast<std::size_t>(std::abs(line.color)) % palette.size()];
            gp << (l == 0 ? "" : ", \\\n     ") << "$p" << p << "_l" << l
               << fmt::format(" using 1:2 with linespoints lc rgb '{}' lw 2 dt {} pt 7 ps 0.5 title ", color,
                              line.dashed ? 2 : 1)
               << gp_string(line.title) << " noenhanced";
        }
        gp << "\n";
    }
    gp << "\nunset multiplot\nunset output\n";
    return gp.str();
}

// Runs `gnuplot script` in `dir`; returns what it printed when it fails.
void run_gnuplot(const std::filesystem::path& dir, const std::filesystem::path& script,
                 const std::filesystem::path& file) {
    int out[2];
    if (pipe(out) != 0) throw plot_error(fmt::format("cannot run gnuplot: {}", std::strerror(errno)));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[1]);
    const std::string dir_text = dir.empty() ? std::string(".") : dir.string();
    posix_spawn_file_actions_addchdir_np(&actions, dir_text.c_str());
    std::string program = "gnuplot", argument = script.filename().string();
    char* argv[] = {program.data(), argument.data(), nullptr};
    pid_t pid = 0;
    const int spawned = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    if (spawned != 0) {
        close(out[0]);
        if (spawned == ENOENT) {
            throw plot_error(
                fmt::format("gnuplot is not installed (Debian: apt-get install gnuplot-nox): {} not drawn; "
                            "its script is {}",
                            file.string(), script.string()));
        }
        throw plot_error(fmt::format("cannot run gnuplot: {}", std::strerror(spawned)));
    }
    std::string said;
    std::array<char, 4096> buffer;
    for (ssize_t n; (n = read(out[0], buffer.data(), buffer.size())) != 0;) {
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        said.append(buffer.data(), static_cast<std::size_t>(n));
    }
    close(out[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    // posix_spawnp reports a missing program only through the child on some libcs: exit 127.
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        throw plot_error(
            fmt::format("gnuplot is not installed (Debian: apt-get install gnuplot-nox): {} not drawn", file.string()));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
        throw plot_error(fmt::format("gnuplot failed on {}:\n{}", script.string(), said));
    }
    std::error_code ec;
    if (std::filesystem::file_size(file, ec) == 0 || ec) {
        throw plot_error(fmt::format("gnuplot wrote no {} (script {})", file.string(), script.string()));
    }
}

}  // namespace

void check_plot_file(const std::filesystem::path& file) { terminal_for(file, 1, false); }

void render(const figure& fig, const std::filesystem::path& file) {
    const std::string script_text = script_for(fig, file);  // checks the extension first
    std::filesystem::path script = file;
    script.replace_extension(".gp");
    {
        std::ofstream out(script, std::ios::binary | std::ios::trunc);
        out << script_text;
        out.flush();
        if (!out) throw plot_error(fmt::format("cannot write {}", script.string()));
    }
    run_gnuplot(file.parent_path(), script, file);
}

void plot_history(const nnfuse::history& history, const std::filesystem::path& file, std::string_view title,
                  std::string_view metric, std::string_view loss_name) {
    // Epochs numbered from 1, as Keras prints them ("Epoch 1/5").
    auto line = [&](std::string_view key, std::string line_title, int color, bool dashed) {
        plot_line out{std::move(line_title), {}, {}, color, dashed};
        for (std::size_t e = 0; e < history.epochs(); ++e) {
            if (const auto value = history.value(e, key)) {
                out.x.push_back(static_cast<double>(e + 1));
                out.y.push_back(*value);
            }
        }
        return out;
    };
    figure fig{std::string(title), {}};
    const std::string loss_label = fmt::format("loss ({})", loss_name);
    for (const auto& [name, label] : {std::pair<std::string_view, std::string_view>{"loss", loss_label},
                                      std::pair<std::string_view, std::string_view>{metric, metric}}) {
        plot_panel panel{.title = std::string(name), .x_label = "epoch", .y_label = std::string(label)};
        plot_line train = line(name, "train", 0, false);
        plot_line val = line(fmt::format("val_{}", name), "validation", 1, true);
        if (!train.x.empty()) panel.lines.push_back(std::move(train));
        if (!val.x.empty()) panel.lines.push_back(std::move(val));
        fig.panels.push_back(std::move(panel));
    }
    if (fig.panels[0].lines.empty() && fig.panels[1].lines.empty()) {
        throw std::invalid_argument(fmt::format("plot_history: the history has no epoch with a loss or {}", metric));
    }
    render(fig, file);
}

void draw_history(const nnfuse::history& history, const std::filesystem::path& file, std::string_view title,
                  std::string_view metric, std::string_view loss_name) {
    try {
        plot_history(history, file, title, metric, loss_name);
        fmt::print("Plot: {}\n", file.string());
    } catch (const plot_error& error) {
        fmt::print(stderr, "note: {}\n", error.what());
    }
}

}  // namespace samples
