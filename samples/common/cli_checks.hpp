// Command-line checks the samples share (CLI11 validators) and their one rule for errors.
//
// Each validator returns "" or the problem, which CLI11 prefixes with the flag's name. They check the text before
// CLI11 converts it, so "-1", "abc" and "1e3" get these messages, not CLI11's conversion errors.
//   whole_number(min, max, hint): an integer in [min, max]; `hint`, when given, explains a value of 1.
//   positive_real(): a finite number > 0.   one_of(choices): one of the strings.
//   existing_directory(): a directory that exists.   plot_file(): a file name plot_history can draw (.svg, .png).
// run_with_exit_status(body): runs body and returns 0; a training_diverged (the loss is not finite) is one line on
//   stderr and exit_diverged, any other exception one line and exit_usage: the training samples' promise.
// exit_on_usage_error(app): every command-line error of `app` becomes one line on stderr ("error: ... (see --help)")
//   and exit status 2 (CLI11's own are 105, 109, ... and two lines); --help and --version still exit 0.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace samples {

inline constexpr int exit_usage = 2;
inline constexpr int exit_diverged = 3;

CLI::Validator whole_number(std::uint64_t min, std::uint64_t max, std::string hint = "");
CLI::Validator positive_real();
CLI::Validator one_of(std::vector<std::string> choices);
CLI::Validator existing_directory();
CLI::Validator plot_file();

void exit_on_usage_error(CLI::App& app);

int run_with_exit_status(const std::function<void()>& body);

}  // namespace samples
