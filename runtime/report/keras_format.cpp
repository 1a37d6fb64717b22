#include "runtime/report/keras_format.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>

namespace nnfuse {

std::string format_metric_value(double value) {
    if (std::abs(value) > 1e-3) return fmt::format("{:.4f}", value);
    return fmt::format("{:.4e}", value);
}

std::string format_time_per_unit(double seconds, std::string_view unit) {
    if (seconds >= 1.0 || seconds == 0.0) return fmt::format(" {:.0f}s/{}", seconds, unit);
    if (seconds >= 1e-3) return fmt::format(" {:.0f}ms/{}", seconds * 1e3, unit);
    return fmt::format(" {:.0f}us/{}", seconds * 1e6, unit);
}

std::string format_eta(double seconds) {
    // Python's "%d" truncates each float field; floor and fmod reproduce its // and % for eta >= 0.
    const auto whole = [](double x) { return static_cast<std::int64_t>(x); };
    if (seconds > 3600.0) {
        return fmt::format("{}:{:02}:{:02}", whole(std::floor(seconds / 3600.0)),
                           whole(std::floor(std::fmod(seconds, 3600.0) / 60.0)), whole(std::fmod(seconds, 60.0)));
    }
    if (seconds > 60.0) {
        return fmt::format("{}:{:02}", whole(std::floor(seconds / 60.0)), whole(std::fmod(seconds, 60.0)));
    }
    return fmt::format("{}s", whole(seconds));
}

}  // namespace nnfuse
