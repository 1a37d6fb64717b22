#include "samples/common/cli_checks.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "runtime/train/trainer.hpp"
#include "samples/common/plot.hpp"

namespace samples {

CLI::Validator whole_number(std::uint64_t min, std::uint64_t max, std::string hint) {
    return CLI::Validator(
        [=](std::string& text) -> std::string {
            std::uint64_t value = 0;
            const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
            const bool number = !text.empty() && error == std::errc() && end == text.data() + text.size();
            if (number && value >= min && value <= max) return "";
            if (number && value == 1 && !hint.empty()) return fmt::format("{} {}", text, hint);
            return fmt::format("{} is not a whole number from {} to {}", text, min, max);
        },
        fmt::format("INT in [{} - {}]", min, max));
}

CLI::Validator positive_real() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            float value = 0;
            const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (!text.empty() && error == std::errc() && end == text.data() + text.size() && std::isfinite(value) &&
                value > 0) {
                return "";
            }
            return fmt::format("{} is not a positive finite number", text);
        },
        "POSITIVE");
}

CLI::Validator one_of(std::vector<std::string> choices) {
    return CLI::Validator(
        [=](std::string& text) -> std::string {
            for (const auto& choice : choices)
                if (text == choice) return "";
            return fmt::format("{} is not one of: {}", text, fmt::join(choices, ", "));
        },
        fmt::format("{{{}}}", fmt::join(choices, ",")));
}

CLI::Validator existing_directory() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            std::error_code error;
            if (std::filesystem::is_directory(text, error)) return "";
            return fmt::format("{}: no such directory", text);
        },
        "DIR");
}

CLI::Validator plot_file() {
    return CLI::Validator(
        [](std::string& file) -> std::string {
            try {
                check_plot_file(file);
                return "";
            } catch (const plot_error& error) {
                return error.what();
            }
        },
        "FILE");
}

namespace {

// "rank R: " when this process is one of several that mpirun started, else "". A command line is parsed before MPI
// starts, so the rank comes from the launcher's environment (Open MPI's, else the PMI variables MPICH and others set).
std::string launcher_rank_prefix() {
    for (const auto& [rank, size] :
         {std::pair{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"}, std::pair{"PMI_RANK", "PMI_SIZE"}}) {
        const char* r = std::getenv(rank);
        const char* n = std::getenv(size);
        if (r != nullptr && n != nullptr && std::string_view(n) != "1") return fmt::format("rank {}: ", r);
    }
    return "";
}

}  // namespace

void exit_on_usage_error(CLI::App& app) {
    // CLI11_PARSE returns CLI11's own exit codes (105 for a bad value, 109 for an unknown flag, ...) and
    // prints two lines. The samples promise one line and status 2 for every command-line error, and this
    // hook is the one place CLI11 calls for all of them (never for --help or --version, which exit 0).
    app.failure_message([](const CLI::App*, const CLI::Error& error) -> std::string {
        fmt::print(stderr, "error: {}{} (see --help)\n", launcher_rank_prefix(), error.what());
        std::fflush(stdout);
        std::exit(exit_usage);
    });
}

int run_with_exit_status(const std::function<void()>& body) {
    try {
        body();
    } catch (const nnfuse::training_diverged& error) {
        fmt::print(stderr, "error: {}\n", error.what());
        return exit_diverged;
    } catch (const std::exception& error) {
        fmt::print(stderr, "error: {}\n", error.what());
        return exit_usage;
    }
    return 0;
}

}  // namespace samples
