// trainer::population_statistics (trainer.hpp): every BN layer's moving statistics replaced by the exact
// statistics of its input over a whole data set.
#include <algorithm>
#include <numeric>
#include <vector>

#include "hwy/highway.h"
#include "runtime/kernels/chan_merge-inl.h"  // at the static target: the merge on plain doubles
#include "runtime/train/batch_norm_statistics.hpp"
#include "runtime/train/trainer.hpp"

namespace nnfuse {

void trainer::population_statistics(const data_set& data, std::size_t batch_size) {
    check_set(data, "population statistics", needs::features);
    check_batch_size(batch_size);
    batch_norm_statistics* const statistics = net_.as_batch_norm_statistics();
    if (statistics == nullptr) return;  // no batch normalization: no statistics to replace
    const auto layers = statistics->bn_layers();
    std::vector<std::uint32_t> samples(batch_size);
    for (std::size_t k = 0; k < layers.size(); ++k) {
        const bn_layer_ref& bn = layers[k];
        const std::size_t c_count = bn.features;
        // Running count, mean and sum of squared deviations per feature, merged batch by batch.
        double count = 0.0;
        std::vector<double> mean(c_count, 0.0), m2(c_count, 0.0), batch_mean(c_count), batch_m2(c_count);
        for (std::size_t begin = 0; begin < data.rows(); begin += batch_size) {
            const std::size_t rows = std::min(batch_size, data.rows() - begin);
            std::iota(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(rows),
                      static_cast<std::uint32_t>(begin));
            load_features(data, std::span(samples).first(rows));
            const float* x = statistics->bn_input(k, batch_x_.data(), rows);
            const std::size_t m = rows * bn.rows_per_sample;
            std::fill(batch_mean.begin(), batch_mean.end(), 0.0);
            std::fill(batch_m2.begin(), batch_m2.end(), 0.0);
            for (std::size_t r = 0; r < m; ++r)
                for (std::size_t c = 0; c < c_count; ++c) batch_mean[c] += x[r * c_count + c];
            for (double& v : batch_mean) v /= static_cast<double>(m);
            for (std::size_t r = 0; r < m; ++r) {
                for (std::size_t c = 0; c < c_count; ++c) {
                    const double d = x[r * c_count + c] - batch_mean[c];
                    batch_m2[c] += d * d;
                }
            }
            // The batch merged in by the kernels' own update (chan_merge-inl.h), one feature at a time.
            const double n_b = static_cast<double>(m);
            const auto weights = kernels::HWY_NAMESPACE::ChanWeightsFor(count, n_b);
            for (std::size_t c = 0; c < c_count; ++c) {
                kernels::HWY_NAMESPACE::ChanMerge(mean[c], m2[c], batch_mean[c], batch_m2[c], weights.of_b,
                                                  weights.cross);
            }
            count += n_b;
        }
        for (std::size_t c = 0; c < c_count; ++c) {
            bn.moving_mean[c] = static_cast<float>(mean[c]);
            bn.moving_variance[c] = static_cast<float>(m2[c] / count);
        }
    }
}

}  // namespace nnfuse
