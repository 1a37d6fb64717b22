#include "runtime/report/history.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>

namespace nnfuse {

void history::record_epoch(std::span<const metric> logs, double seconds) {
    if (!(std::isfinite(seconds) && seconds >= 0.0)) {
        throw std::invalid_argument(fmt::format("history: epoch seconds must be finite and >= 0, got {}", seconds));
    }
    epoch_record record;
    record.seconds = seconds;
    for (const metric& m : logs) {
        if (m.name.empty()) throw std::invalid_argument("history: a metric has an empty name");
        if (m.name == "epoch" || m.name == "seconds") {
            throw std::invalid_argument(fmt::format("history: metric name '{}' is reserved for a CSV column", m.name));
        }
        if (m.name.find_first_of(",\"\r\n") != std::string::npos) {
            throw std::invalid_argument(
                fmt::format("history: metric name '{}' holds a comma, quote or line break", m.name));
        }
        if (!record.logs.emplace(m.name, m.value).second) {
            throw std::invalid_argument(fmt::format("history: metric '{}' is given twice for one epoch", m.name));
        }
    }
    epochs_.push_back(std::move(record));
}

std::vector<std::string> history::keys() const {
    std::set<std::string> names;
    for (const epoch_record& e : epochs_) {
        for (const auto& entry : e.logs) names.insert(entry.first);
    }
    return {names.begin(), names.end()};
}

std::optional<double> history::value(std::size_t epoch, std::string_view name) const {
    const auto& logs = epochs_.at(epoch).logs;
    if (const auto found = logs.find(name); found != logs.end()) return found->second;
    return std::nullopt;
}

std::vector<double> history::series(std::string_view name) const {
    std::vector<double> values;
    bool reported = false;
    for (const epoch_record& e : epochs_) {
        if (const auto found = e.logs.find(name); found != e.logs.end()) {
            values.push_back(found->second);
            reported = true;
        }
    }
    if (!reported) throw std::out_of_range(fmt::format("history: no epoch reported '{}'", name));
    return values;
}

void history::write_csv(const std::filesystem::path& file) const {
    const auto fail = [&](int error) {
        throw std::runtime_error(fmt::format("{}: cannot write the training history CSV ({})", file.string(),
                                             error != 0 ? std::strerror(error) : "I/O error"));
    };
    errno = 0;
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    if (!out) fail(errno);

    const std::vector<std::string> names = keys();
    std::string text = "epoch";
    for (const std::string& name : names) text += ',' + name;
    text += ",seconds\n";
    for (std::size_t epoch = 0; epoch < epochs_.size(); ++epoch) {
        text += std::to_string(epoch);
        for (const std::string& name : names) {
            const std::optional<double> v = value(epoch, name);
            // fmt's "{}" is the shortest text that parses back to the same double, like Python's repr.
            text += v ? fmt::format(",{}", *v) : std::string(",NA");
        }
        text += fmt::format(",{}\n", epochs_[epoch].seconds);
    }
    errno = 0;
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) fail(errno);
    out.close();
    if (out.fail()) fail(errno);
}

}  // namespace nnfuse
