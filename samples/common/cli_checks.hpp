// Command-line checks the samples share (CLI11 validators) and their one rule for errors.
//
// Each validator returns "" or the problem, which CLI11 prefixes with the flag's name. They check the text before
// CLI11 converts it, so "-1", "abc" and "1e3" get these messages, not CLI11's conversion errors.
//   whole_number(min, max, hint): an integer in [min, max]; `hint`, when given, explains a value of 1.
//   positive_real(): a finite number > 0.   one_of(choices): one of the strings.
//   existing_directory(): a directory that exists.
// exit_on_usage_error(app): every command-line error of `app` becomes one line on stderr ("error: ... (see --help)")
//   and exit status 2 (CLI11's own are 105, 109, ... and two lines); --help and --version still exit 0.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace samples {

inline constexpr int exit_usage = 2;

CLI::Validator whole_number(std::uint64_t min, std::uint64_t max, std::string hint = "");
CLI::Validator positive_real();
CLI::Validator one_of(std::vector<std::string> choices);
CLI::Validator existing_directory();

void exit_on_usage_error(CLI::App& app);

}  // namespace samples
