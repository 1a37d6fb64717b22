#include "runtime/train/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include "hwy/highway.h"
#include "runtime/data/pixel_rows.hpp"
#include "runtime/kernels/chan_merge-inl.h"  // at the static target: the merge on plain doubles
#include "runtime/report/progress_bar.hpp"
#include "runtime/train/batch_norm_statistics.hpp"
#include "runtime/train/pixel_training.hpp"
#include "runtime/train/random.hpp"

namespace nnfuse {

namespace {

constexpr float pixel_scale = 1.0f / 255.0f;

// Batches of an epoch: [begin, end) ranges over the sample order. A last batch of one sample is
// merged into the previous one, so no batch normalization layer ever trains on a single value.
std::vector<std::pair<std::size_t, std::size_t>> training_batches(std::size_t count, std::size_t batch_size) {
    std::vector<std::pair<std::size_t, std::size_t>> batches;
    for (std::size_t begin = 0; begin < count; begin += batch_size) {
        batches.emplace_back(begin, std::min(begin + batch_size, count));
    }
    if (batches.size() > 1 && batches.back().second - batches.back().first == 1) {
        batches.pop_back();
        batches.back().second = count;
    }
    return batches;
}

// The epoch's sample order depends only on the seed and the epoch, so a resumed run sees the same batches.
std::uint64_t epoch_seed(std::uint64_t seed, std::size_t epoch) { return seed ^ (0x9E3779B97F4A7C15ull * (epoch + 1)); }

}  // namespace

trainer::trainer(network& net, optimizer& opt) : net_(net), optimizer_(opt) {
    for (const variable_ref& v : net_.variables()) {
        if (v.trainable) trainable_.push_back({v.name, v.value, v.grad});
    }
    batch_x_.resize(net_.max_batch() * net_.input_size());
    batch_labels_.resize(net_.max_batch());
}

void trainer::check_set(const labeled_images& data, const char* what) const {
    if (data.count == 0) throw std::invalid_argument(fmt::format("the {} set is empty", what));
    if (data.height * data.width != net_.input_size()) {
        throw std::invalid_argument(fmt::format("the {} set has samples of {}x{} = {} values; model {} takes {}", what,
                                                data.height, data.width, data.height * data.width, net_.model_name(),
                                                net_.input_size()));
    }
    if (net_.loss().target != target_kind::class_id) return;  // fit and evaluate refuse the model (check_classifier)
    for (std::size_t i = 0; i < data.count; ++i) {
        if (data.labels[i] >= net_.output_size()) {
            throw std::invalid_argument(
                fmt::format("the {} set's label {} at index {} is not below the model's {} classes", what,
                            data.labels[i], i, net_.output_size()));
        }
    }
}

void trainer::check_classifier(const char* what) const {
    const network_loss loss = net_.loss();
    if (loss.target != target_kind::class_id) {
        throw std::invalid_argument(
            fmt::format("{}: model {} has the loss {}, which trains on float targets; the trainer's data sets "
                        "(labeled_images) hold class ids: train it through network::train_batch with float targets",
                        what, net_.model_name(), loss.keras_name));
    }
}

void trainer::load_batch(const labeled_images& data, std::span<const std::uint32_t> samples) {
    widen_rows(data.pixels.data(), samples, pixel_scale);
    load_labels(data, samples);
}

void trainer::widen_rows(const std::uint8_t* pixels, std::span<const std::uint32_t> samples, float scale) {
    const std::size_t row_size = net_.input_size();
    net_.for_each_chunk(samples.size(), [&](std::size_t begin, std::size_t count) {
        gather_pixel_rows(pixels, row_size, samples.subspan(begin, count), scale, batch_x_.data() + begin * row_size);
    });
}

batch_result trainer::train_pixels(const pixel_batch& batch) {
    if (pixel_training* const pixels = net_.as_pixel_training()) {
        return pixels->train_pixel_batch(batch, batch_labels_.data());
    }
    // The same floats the generated Nets widen to (gather_pixel_rows), so the same step.
    widen_rows(batch.pixels.data(), batch.samples, batch.scale);
    return net_.train_batch(batch_x_.data(), batch_labels_.data(), batch.samples.size());
}

void trainer::load_labels(const labeled_images& data, std::span<const std::uint32_t> samples) {
    for (std::size_t r = 0; r < samples.size(); ++r) batch_labels_[r] = data.labels[samples[r]];
}

history trainer::fit(const labeled_images& train, const fit_options& options) {
    check_classifier("fit");
    check_set(train, "training");
    if (options.validation != nullptr) check_set(*options.validation, "validation");
    if (options.epochs == 0) throw std::invalid_argument("epochs must be at least 1");
    if (options.initial_epoch >= options.epochs) {
        throw std::invalid_argument(fmt::format("initial epoch {} leaves nothing to train of {} epochs",
                                                options.initial_epoch, options.epochs));
    }
    if (options.batch_size < 2) {
        throw std::invalid_argument(
            fmt::format("batch size {} is less than 2 (batch normalization needs 2 or more)", options.batch_size));
    }
    // The final batch of one sample joins the batch before it, so fit needs one row more than the batch size.
    if (options.batch_size + 1 > net_.max_batch()) {
        throw std::invalid_argument(fmt::format(
            "batch size {} needs a network of max_batch {} or more (it has {}: fit's last batch may take one "
            "sample more)",
            options.batch_size, options.batch_size + 1, net_.max_batch()));
    }
    if (random_state* random = net_.randomness()) random->seed = options.seed;  // the step goes on
    const std::string_view metric_name = net_.loss().metric_name;
    std::vector<std::uint32_t> order(train.count);
    const auto batches = training_batches(train.count, options.batch_size);
    history log;
    for (std::size_t epoch = options.initial_epoch; epoch < options.epochs; ++epoch) {
        std::iota(order.begin(), order.end(), 0u);
        random_stream(epoch_seed(options.seed, epoch)).shuffle(std::span(order));
        if (options.log) *options.log << fmt::format("Epoch {}/{}\n", epoch + 1, options.epochs) << std::flush;
        std::optional<progress_bar> bar;
        if (options.log) bar.emplace(*options.log, batches.size(), options.interactive);
        const double started = steady_clock_seconds();

        double loss_sum = 0.0, metric_sum = 0.0;
        std::size_t seen = 0;
        std::vector<metric> metrics = {{"loss", 0.0}, {std::string(metric_name), 0.0}};
        for (std::size_t b = 0; b < batches.size(); ++b) {
            const auto [begin, end] = batches[b];
            const auto [next_begin, next_end] = b + 1 < batches.size() ? batches[b + 1] : std::pair{end, end};
            const pixel_batch batch{train.pixels, net_.input_size(), std::span(order).subspan(begin, end - begin),
                                    std::span(order).subspan(next_begin, next_end - next_begin), pixel_scale};
            load_labels(train, batch.samples);
            const batch_result result = train_pixels(batch);
            if (!std::isfinite(result.loss_sum)) {
                throw training_diverged(
                    fmt::format("the loss is not finite ({}) in epoch {}, batch {} of {}: training stopped",
                                result.loss_sum, epoch + 1, b + 1, batches.size()));
            }
            optimizer_.step(trainable_);
            if (options.on_batch_end) options.on_batch_end(epoch, b);
            loss_sum += result.loss_sum;
            metric_sum += result.metric_sum;
            seen += end - begin;
            metrics[0].value = loss_sum / static_cast<double>(seen);
            metrics[1].value = metric_sum / static_cast<double>(seen);
            if (bar) bar->update(b + 1, metrics);
        }
        if (options.validation != nullptr) {
            const evaluation val = evaluate(*options.validation, options.batch_size);
            metrics.push_back({"val_loss", val.loss});
            metrics.push_back({"val_" + std::string(metric_name), val.accuracy});
        }
        if (bar) bar->finish(metrics);
        log.record_epoch(metrics, steady_clock_seconds() - started);
        if (options.on_epoch_end) options.on_epoch_end(epoch, log);
    }
    return log;
}

evaluation trainer::evaluate(const labeled_images& data, std::size_t batch_size) {
    check_classifier("evaluate");
    check_set(data, "evaluation");
    if (batch_size == 0 || batch_size > net_.max_batch()) {
        throw std::invalid_argument(fmt::format("batch size {} is not in [1, {}]", batch_size, net_.max_batch()));
    }
    std::vector<std::uint32_t> samples(batch_size);
    double loss_sum = 0.0, metric_sum = 0.0;
    for (std::size_t begin = 0; begin < data.count; begin += batch_size) {
        const std::size_t rows = std::min(batch_size, data.count - begin);
        std::iota(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(rows),
                  static_cast<std::uint32_t>(begin));
        load_batch(data, std::span(samples).first(rows));
        const batch_result result = net_.evaluate_batch(batch_x_.data(), batch_labels_.data(), rows);
        loss_sum += result.loss_sum;
        metric_sum += result.metric_sum;
    }
    const double n = static_cast<double>(data.count);
    return {loss_sum / n, metric_sum / n};
}

std::vector<float> trainer::predict(const labeled_images& data, std::size_t batch_size) {
    check_set(data, "prediction");
    if (batch_size == 0 || batch_size > net_.max_batch()) {
        throw std::invalid_argument(fmt::format("batch size {} is not in [1, {}]", batch_size, net_.max_batch()));
    }
    std::vector<float> probabilities(data.count * net_.output_size());
    std::vector<std::uint32_t> samples(batch_size);
    for (std::size_t begin = 0; begin < data.count; begin += batch_size) {
        const std::size_t rows = std::min(batch_size, data.count - begin);
        std::iota(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(rows),
                  static_cast<std::uint32_t>(begin));
        load_batch(data, std::span(samples).first(rows));
        net_.predict_batch(batch_x_.data(), rows, probabilities.data() + begin * net_.output_size());
    }
    return probabilities;
}

void trainer::population_statistics(const labeled_images& data, std::size_t batch_size) {
    check_set(data, "population statistics");
    if (batch_size == 0 || batch_size > net_.max_batch()) {
        throw std::invalid_argument(fmt::format("batch size {} is not in [1, {}]", batch_size, net_.max_batch()));
    }
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
        for (std::size_t begin = 0; begin < data.count; begin += batch_size) {
            const std::size_t rows = std::min(batch_size, data.count - begin);
            std::iota(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(rows),
                      static_cast<std::uint32_t>(begin));
            load_batch(data, std::span(samples).first(rows));
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
