// adapt (adapt.hpp): two passes over the rows in double, then the layer's variables, all or nothing.
#include "runtime/train/adapt.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/train/normalization_statistics.hpp"

namespace nnfuse {

namespace {

std::string model_of(network& net) { return "adapt: model " + std::string(net.model_name()); }

}  // namespace

void adapt(network& net, const float* rows, std::size_t row_count) {
    normalization_statistics* const statistics = net.as_normalization_statistics();
    if (statistics == nullptr) {
        throw std::invalid_argument(model_of(net) +
                                    " has no normalization layer to adapt (add nnfuse::normalization() after its "
                                    "input)");
    }
    if (row_count == 0) throw std::invalid_argument(model_of(net) + ": no rows to adapt to (row_count is 0)");
    if (rows == nullptr) throw std::invalid_argument(model_of(net) + ": rows is null");
    const normalization_layer_ref layer = statistics->normalization_layer();
    const std::size_t features = layer.features, row_size = net.input_size();
    if (features * layer.rows_per_sample != row_size) {
        throw std::logic_error(model_of(net) + ": the normalization layer's shape does not cover the input");
    }
    // Each value of a row belongs to feature i % features (the last axis varies fastest).
    std::vector<double> sum(features, 0.0);
    for (std::size_t r = 0; r < row_count; ++r) {
        const float* row = rows + r * row_size;
        for (std::size_t i = 0; i < row_size; ++i) {
            if (!std::isfinite(row[i])) {
                throw std::invalid_argument(model_of(net) + ": row " + std::to_string(r) + ", value " +
                                            std::to_string(i) + " (feature " + std::to_string(i % features) + ") is " +
                                            std::to_string(row[i]) + ", not a finite number");
            }
            sum[i % features] += row[i];
        }
    }
    const double count = static_cast<double>(row_count) * static_cast<double>(layer.rows_per_sample);
    std::vector<double> mean(features), squares(features, 0.0);
    for (std::size_t c = 0; c < features; ++c) mean[c] = sum[c] / count;
    for (std::size_t r = 0; r < row_count; ++r) {
        const float* row = rows + r * row_size;
        for (std::size_t i = 0; i < row_size; ++i) {
            const double deviation = row[i] - mean[i % features];
            squares[i % features] += deviation * deviation;
        }
    }
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

}  // namespace nnfuse
