// adapt (adapt.hpp): two passes over the rows in double, then the layer's variables, all or nothing.
#include "runtime/train/adapt.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/data/data_set.hpp"

#include "runtime/train/normalization_statistics.hpp"

namespace nnfuse {

namespace {

std::string model_of(network& net) { return "adapt: model " + std::string(net.model_name()); }

// Calls visit(row, r) for each row r in order; a source of rows that adapt reads twice.
template <class Rows>
void adapt_rows(network& net, std::size_t row_count, const Rows& for_each_row) {
    normalization_statistics* const statistics = net.as_normalization_statistics();
    if (statistics == nullptr) {
        throw std::invalid_argument(model_of(net) +
                                    " has no normalization layer to adapt (add nnfuse::normalization() after its "
                                    "input)");
    }
    if (row_count == 0) throw std::invalid_argument(model_of(net) + ": no rows to adapt to (row_count is 0)");
    const normalization_layer_ref layer = statistics->normalization_layer();
    const std::size_t features = layer.features, row_size = net.input_size();
    if (features * layer.rows_per_sample != row_size) {
        throw std::logic_error(model_of(net) + ": the normalization layer's shape does not cover the input");
    }
    // Each value of a row belongs to feature i % features (the last axis varies fastest).
    std::vector<double> sum(features, 0.0);
    for_each_row([&](const float* row, std::size_t r) {
        for (std::size_t i = 0; i < row_size; ++i) {
            if (!std::isfinite(row[i])) {
                throw std::invalid_argument(model_of(net) + ": row " + std::to_string(r) + ", value " +
                                            std::to_string(i) + " (feature " + std::to_string(i % features) + ") is " +
                                            std::to_string(row[i]) + ", not a finite number");
            }
            sum[i % features] += row[i];
        }
    });
    const double count = static_cast<double>(row_count) * static_cast<double>(layer.rows_per_sample);
    std::vector<double> mean(features), squares(features, 0.0);
    for (std::size_t c = 0; c < features; ++c) mean[c] = sum[c] / count;
    for_each_row([&](const float* row, std::size_t) {
        for (std::size_t i = 0; i < row_size; ++i) {
            const double deviation = row[i] - mean[i % features];
            squares[i % features] += deviation * deviation;
        }
    });
    std::vector<float> mean_f(features), variance_f(features);
    for (std::size_t c = 0; c < features; ++c) {
        mean_f[c] = static_cast<float>(mean[c]);
        variance_f[c] = static_cast<float>(squares[c] / count);
        if (!std::isfinite(mean_f[c]) || !std::isfinite(variance_f[c])) {
            throw std::invalid_argument(model_of(net) + ": feature " + std::to_string(c) +
                                        " has a mean or variance beyond float's range (values too large)");
        }
    }
    std::copy(mean_f.begin(), mean_f.end(), layer.mean.begin());
    std::copy(variance_f.begin(), variance_f.end(), layer.variance.begin());
    *layer.count = static_cast<float>(count);
}

}  // namespace

void adapt(network& net, const float* rows, std::size_t row_count) {
    if (rows == nullptr) throw std::invalid_argument(model_of(net) + ": rows is null");
    const std::size_t row_size = net.input_size();
    adapt_rows(net, row_count, [&](const auto& visit) {
        for (std::size_t r = 0; r < row_count; ++r) visit(rows + r * row_size, r);
    });
}

void adapt(network& net, const data_set& rows) {
    if (rows.features() != net.input_size()) {
        throw std::invalid_argument(model_of(net) + " takes " + std::to_string(net.input_size()) +
                                    " features per row; the data set has " + std::to_string(rows.features()));
    }
    // A block of rows at a time: a set of any size, in row order.
    constexpr std::size_t block_rows = 256;
    const std::size_t row_size = rows.features();
    std::vector<float> block(block_rows * row_size);
    std::vector<std::uint32_t> indices(block_rows);
    adapt_rows(net, rows.rows(), [&](const auto& visit) {
        for (std::size_t begin = 0; begin < rows.rows(); begin += block_rows) {
            const std::size_t count = std::min(block_rows, rows.rows() - begin);
            for (std::size_t i = 0; i < count; ++i) indices[i] = static_cast<std::uint32_t>(begin + i);
            rows.gather_features(std::span(indices).first(count), block.data());
            for (std::size_t i = 0; i < count; ++i) visit(block.data() + i * row_size, begin + i);
        }
    });
}

}  // namespace nnfuse
