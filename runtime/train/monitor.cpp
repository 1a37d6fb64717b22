// Keras's mode="auto" and improvement test (see monitor.hpp).
#include "runtime/train/monitor.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace nnfuse {

monitor_direction resolve_direction(std::string_view monitor, monitor_mode mode) {
    if (mode == monitor_mode::min) return monitor_direction::min;
    if (mode == monitor_mode::max) return monitor_direction::max;
    const auto holds = [&](std::string_view part) { return monitor.find(part) != std::string_view::npos; };
    if (holds("acc") || holds("r_squared")) return monitor_direction::max;
    if (holds("loss") || holds("mae") || holds("mse") || holds("error")) return monitor_direction::min;
    throw std::invalid_argument(fmt::format(
        "cannot tell whether \"{}\" improves up or down; give mode min or max (monitor_mode::min / ::max)", monitor));
}

bool improves(monitor_direction direction, double value, double best, double min_delta) {
    if (std::isnan(value)) return false;
    if (std::isnan(best)) return true;
    const double delta = std::abs(min_delta);
    return direction == monitor_direction::min ? value + delta < best : value - delta > best;
}

double worst_value(monitor_direction direction) {
    constexpr double infinity = std::numeric_limits<double>::infinity();
    return direction == monitor_direction::min ? infinity : -infinity;
}

}  // namespace nnfuse
