// history: what fit() returns, Keras's History: per epoch, the logs (metric name -> value) and the
// epoch's wall time in seconds.
//
// record_epoch(logs, seconds): appends an epoch.
//   requires: metric names non-empty, unique within the epoch, not "epoch" or "seconds" (CSV columns of
//             our own), free of ',', '"' and line breaks; seconds finite and >= 0. Else
//             std::invalid_argument naming the offender. Epochs may report different names (validation
//             every few epochs): a name absent from an epoch has no value there.
// keys(): every name reported by any epoch, sorted.
// series(name): the values of the epochs that reported it, in order (Keras's history.history[name]);
//   std::out_of_range when no epoch did.
// write_csv(file): Keras CSVLogger's layout plus our seconds column:
//     epoch,<keys sorted>,seconds       one row per epoch, epoch numbered from 0
//   values in the shortest form that reads back to the same double ("0.1", "0.5964000225067139", "nan"),
//   "NA" where an epoch lacks a key (as CSVLogger), lines ended by "\n". Replaces the file.
//   throws std::runtime_error naming the file when it cannot be opened or written.
#pragma once

#include "runtime/report/metric.hpp"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nnfuse {

class history {
public:
    void record_epoch(std::span<const metric> logs, double seconds);

    std::size_t epochs() const { return epochs_.size(); }
    std::vector<std::string> keys() const;
    std::optional<double> value(std::size_t epoch, std::string_view name) const;  // epoch < epochs()
    std::vector<double> series(std::string_view name) const;
    double seconds(std::size_t epoch) const { return epochs_.at(epoch).seconds; }

    void write_csv(const std::filesystem::path& file) const;

private:
    struct epoch_record {
        std::map<std::string, double, std::less<>> logs;
        double seconds = 0.0;
    };
    std::vector<epoch_record> epochs_;
};

}  // namespace nnfuse
