#include "runtime/train/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include "runtime/data/image_rows.hpp"
#include "runtime/data/pixel_rows.hpp"
#include "runtime/data/row_range.hpp"
#include "runtime/report/progress_bar.hpp"
#include "runtime/train/pixel_training.hpp"
#include "runtime/train/random.hpp"

namespace nnfuse {

namespace {

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

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

// The rows [begin, begin + count) in order, in the first `count` entries of samples.
std::span<const std::uint32_t> consecutive_rows(std::vector<std::uint32_t>& samples, std::size_t begin,
                                                std::size_t count) {
    std::iota(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(count), static_cast<std::uint32_t>(begin));
    return std::span(samples).first(count);
}

// Regression metrics over a set, output by output: the squared errors, and the targets' mean and sum of squared
// deviations merged row by row (Welford), all in double.
class regression_sums {
public:
    explicit regression_sums(std::size_t outputs) : squared_error_(outputs), mean_(outputs), m2_(outputs) {}

    void add(const float* predictions, const float* targets, std::size_t rows) {
        const std::size_t outputs = mean_.size();
        for (std::size_t r = 0; r < rows; ++r) {
            ++count_;
            for (std::size_t k = 0; k < outputs; ++k) {
                const double t = targets[r * outputs + k], e = predictions[r * outputs + k] - t;
                squared_error_[k] += e * e;
                const double d = t - mean_[k];
                mean_[k] += d / static_cast<double>(count_);
                m2_[k] += d * (t - mean_[k]);
            }
        }
    }
    double rmse() const {
        const double total = std::accumulate(squared_error_.begin(), squared_error_.end(), 0.0);
        return std::sqrt(total / static_cast<double>(count_ * squared_error_.size()));
    }
    double r_squared() const {
        double sum = 0.0;
        for (std::size_t k = 0; k < m2_.size(); ++k) sum += 1.0 - squared_error_[k] / m2_[k];
        return sum / static_cast<double>(m2_.size());
    }

private:
    std::size_t count_ = 0;
    std::vector<double> squared_error_, mean_, m2_;
};

bool is_regression(const network_loss& loss) { return loss.metric == metric_kind::mean_absolute_error; }

}  // namespace

trainer::trainer(network& net, optimizer& opt) : net_(net), optimizer_(opt) {
    for (const variable_ref& v : net_.variables()) {
        if (v.trainable) trainable_.push_back({v.name, v.value, v.grad});
    }
    batch_x_.resize(net_.max_batch() * net_.input_size());
    batch_labels_.resize(net_.max_batch());
    const network_loss loss = net_.loss();
    if (loss.target == target_kind::float_vector) batch_values_.resize(net_.max_batch() * loss.targets_per_sample);
}

void trainer::check_set(const data_set& data, const char* what, needs what_it_needs) const {
    if (data.rows() == 0) throw std::invalid_argument(fmt::format("the {} set is empty", what));
    if (data.features() != net_.input_size()) {
        throw std::invalid_argument(fmt::format("the {} set has rows of {} features; model {} takes {}", what,
                                                data.features(), net_.model_name(), net_.input_size()));
    }
    if (what_it_needs == needs::features) return;
    const network_loss loss = net_.loss();
    const auto kind_name = [](target_kind kind) {
        return kind == target_kind::class_id       ? "class ids"
               : kind == target_kind::float_vector ? "float targets"
                                                   : "no targets";
    };
    if (data.targets() != loss.target) {
        throw std::invalid_argument(fmt::format("the {} set has {}; model {} has the loss {}, which trains on {}", what,
                                                kind_name(data.targets()), net_.model_name(), loss.keras_name,
                                                kind_name(loss.target)));
    }
    if (loss.target == target_kind::float_vector) {
        if (data.targets_per_row() != loss.targets_per_sample) {
            throw std::invalid_argument(fmt::format("the {} set has {} targets per row; model {} outputs {}", what,
                                                    data.targets_per_row(), net_.model_name(),
                                                    loss.targets_per_sample));
        }
        return;
    }
    std::vector<std::uint32_t> rows(data.rows());
    std::iota(rows.begin(), rows.end(), 0u);
    std::vector<std::int32_t> ids(data.rows());
    data.gather_class_ids(rows, ids.data());
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] < 0 || static_cast<std::size_t>(ids[i]) >= net_.output_size()) {
            throw std::invalid_argument(
                fmt::format("the {} set's label {} at index {} is not below the model's {} classes", what, ids[i], i,
                            net_.output_size()));
        }
    }
}

void trainer::check_batch_size(std::size_t batch_size) const {
    if (batch_size == 0 || batch_size > net_.max_batch()) {
        throw std::invalid_argument(fmt::format("batch size {} is not in [1, {}]", batch_size, net_.max_batch()));
    }
}

void trainer::load_features(const data_set& data, std::span<const std::uint32_t> samples) {
    const std::size_t row_size = net_.input_size();
    net_.for_each_chunk(samples.size(), [&](std::size_t begin, std::size_t count) {
        data.gather_features(samples.subspan(begin, count), batch_x_.data() + begin * row_size);
    });
}

batch_targets trainer::load_targets(const data_set& data, std::span<const std::uint32_t> samples) {
    if (data.targets() == target_kind::class_id) {
        data.gather_class_ids(samples, batch_labels_.data());
        return batch_labels_.data();
    }
    data.gather_target_values(samples, batch_values_.data());
    return batch_values_.data();
}

batch_result trainer::train_step(const data_set& data, std::span<const std::uint32_t> samples,
                                 std::span<const std::uint32_t> next) {
    const batch_targets targets = load_targets(data, samples);
    const pixel_view view = data.pixels();
    pixel_training* const pixels = net_.as_pixel_training();
    if (!view.pixels.empty() && pixels != nullptr) {
        return pixels->train_pixel_batch({view.pixels, view.row_size, samples, next, view.scale}, targets);
    }
    load_features(data, samples);
    return net_.train_batch(batch_x_.data(), targets, samples.size());
}

history trainer::fit(const data_set& train, const fit_options& options) {
    if (options.validation_data != nullptr && options.validation_split != 0.0) {
        throw std::invalid_argument("fit: give validation_data or validation_split, not both");
    }
    if (!(options.validation_split >= 0.0 && options.validation_split < 1.0)) {
        throw std::invalid_argument(fmt::format("fit: validation_split {} is not in [0, 1)", options.validation_split));
    }
    if (options.validation_split == 0.0) return fit_epochs(train, options.validation_data, options);
    // Keras: the last rows are held out, before any shuffling.
    const auto held_out =
        static_cast<std::size_t>(static_cast<double>(train.rows()) -
                                 std::floor(static_cast<double>(train.rows()) * (1.0 - options.validation_split)));
    if (held_out == 0 || held_out + 2 > train.rows()) {
        throw std::invalid_argument(fmt::format(
            "fit: validation_split {} of {} rows holds out {}, leaving {} to train on (at least 1 and 2 are needed)",
            options.validation_split, train.rows(), held_out, train.rows() - held_out));
    }
    const row_range training = first_rows(train, train.rows() - held_out), validation = last_rows(train, held_out);
    return fit_epochs(training, &validation, options);
}

history trainer::fit_epochs(const data_set& train, const data_set* validation, const fit_options& options) {
    check_set(train, "training", needs::targets);
    if (validation != nullptr) check_set(*validation, "validation", needs::targets);
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
    if (train.rows() < 2) throw std::invalid_argument("fit: the training set has 1 row; batch normalization needs 2");
    if (random_state* random = net_.randomness()) random->seed = options.seed;  // the step goes on
    const network_loss loss = net_.loss();
    const std::string metric_name(loss.metric_name);
    // Keras's RootMeanSquaredError over an epoch of a mean-squared-error model is the root of its mean loss.
    const bool training_rmse = loss.keras_name == "mean_squared_error";
    std::vector<std::string> epoch_keys = {"loss", metric_name};
    if (training_rmse) epoch_keys.emplace_back("rmse");
    if (validation != nullptr) {
        epoch_keys.insert(epoch_keys.end(), {"val_loss", "val_" + metric_name});
        if (is_regression(loss)) epoch_keys.emplace_back("val_rmse");
    }
    fit_callbacks callbacks(
        {.schedule = options.schedule, .early_stop = options.early_stop, .reduce_lr = options.reduce_lr}, net_,
        optimizer_, epoch_keys, options.log);
    if (callbacks.reports_learning_rate()) epoch_keys.emplace_back("learning_rate");
    std::vector<std::uint32_t> order(train.rows());
    const auto batches = training_batches(train.rows(), options.batch_size);
    history log;
    if (!callbacks.begin(options.initial_epoch)) {
        callbacks.end();
        return log;
    }
    for (std::size_t epoch = options.initial_epoch; epoch < options.epochs; ++epoch) {
        std::iota(order.begin(), order.end(), 0u);
        if (options.shuffle) random_stream(epoch_seed(options.seed, epoch)).shuffle(std::span(order));
        if (options.log) *options.log << fmt::format("Epoch {}/{}\n", epoch + 1, options.epochs) << std::flush;
        std::optional<progress_bar> bar;
        if (options.log) bar.emplace(*options.log, batches.size(), options.interactive);
        const double started = steady_clock_seconds();

        double loss_sum = 0.0, metric_sum = 0.0;
        std::size_t seen = 0;
        std::vector<metric> metrics = {{"loss", 0.0}, {metric_name, 0.0}};
        if (training_rmse) metrics.push_back({"rmse", 0.0});
        for (std::size_t b = 0; b < batches.size(); ++b) {
            const auto [begin, end] = batches[b];
            const auto [next_begin, next_end] = b + 1 < batches.size() ? batches[b + 1] : std::pair{end, end};
            const batch_result result = train_step(train, std::span(order).subspan(begin, end - begin),
                                                   std::span(order).subspan(next_begin, next_end - next_begin));
            if (!std::isfinite(result.loss_sum)) {
                throw training_diverged(
                    fmt::format("the loss is not finite ({}) in epoch {}, batch {} of {}: training stopped",
                                result.loss_sum, epoch + 1, b + 1, batches.size()));
            }
            callbacks.before_step();
            optimizer_.step(trainable_);
            if (options.on_batch_end) options.on_batch_end(epoch, b);
            loss_sum += result.loss_sum;
            metric_sum += result.metric_sum;
            seen += end - begin;
            metrics[0].value = loss_sum / static_cast<double>(seen);
            metrics[1].value = metric_sum / static_cast<double>(seen);
            if (training_rmse) metrics[2].value = std::sqrt(metrics[0].value);
            if (bar) bar->update(b + 1, metrics);
        }
        if (validation != nullptr) {
            const evaluation val = evaluate(*validation, options.batch_size);
            metrics.push_back({"val_loss", val.loss});
            metrics.push_back({"val_" + metric_name, val.metric});
            if (is_regression(loss)) metrics.push_back({"val_rmse", val.rmse});
        }
        if (callbacks.reports_learning_rate()) metrics.push_back({"learning_rate", optimizer_.learning_rate()});
        if (bar) bar->finish(metrics);
        const bool stop = callbacks.end_of_epoch(epoch, metrics);
        log.record_epoch(metrics, steady_clock_seconds() - started);
        if (options.on_epoch_end) options.on_epoch_end(epoch, log);
        if (stop) break;
    }
    callbacks.end();
    return log;
}

evaluation trainer::evaluate(const data_set& data, std::size_t batch_size) {
    check_set(data, "evaluation", needs::targets);
    check_batch_size(batch_size);
    const network_loss loss = net_.loss();
    const bool regression = is_regression(loss);
    std::optional<regression_sums> sums;
    std::vector<float> predictions;
    if (regression) {
        sums.emplace(net_.output_size());
        predictions.resize(batch_size * net_.output_size());
    }
    std::vector<std::uint32_t> samples(batch_size);
    double loss_sum = 0.0, metric_sum = 0.0;
    for (std::size_t begin = 0; begin < data.rows(); begin += batch_size) {
        const auto rows = consecutive_rows(samples, begin, std::min(batch_size, data.rows() - begin));
        load_features(data, rows);
        const batch_targets targets = load_targets(data, rows);
        const batch_result result = net_.evaluate_batch(batch_x_.data(), targets, rows.size());
        loss_sum += result.loss_sum;
        metric_sum += result.metric_sum;
        if (regression) {
            net_.predict_batch(batch_x_.data(), rows.size(), predictions.data());
            sums->add(predictions.data(), targets.values, rows.size());
        }
    }
    const double n = static_cast<double>(data.rows());
    evaluation result{.loss = loss_sum / n, .metric_name = std::string(loss.metric_name), .metric = metric_sum / n};
    result.accuracy = result.metric_name == "accuracy" ? result.metric : not_a_number;
    result.rmse = regression ? sums->rmse() : not_a_number;
    result.r_squared = regression ? sums->r_squared() : not_a_number;
    return result;
}

std::vector<float> trainer::predict(const data_set& data, std::size_t batch_size) {
    check_set(data, "prediction", needs::features);
    check_batch_size(batch_size);
    std::vector<float> outputs(data.rows() * net_.output_size());
    std::vector<std::uint32_t> samples(batch_size);
    for (std::size_t begin = 0; begin < data.rows(); begin += batch_size) {
        const auto rows = consecutive_rows(samples, begin, std::min(batch_size, data.rows() - begin));
        load_features(data, rows);
        net_.predict_batch(batch_x_.data(), rows.size(), outputs.data() + begin * net_.output_size());
    }
    return outputs;
}

history trainer::fit(const labeled_images& train, const fit_options& options) {
    return fit(image_rows(train), options);
}
evaluation trainer::evaluate(const labeled_images& data, std::size_t batch_size) {
    return evaluate(image_rows(data), batch_size);
}
std::vector<float> trainer::predict(const labeled_images& data, std::size_t batch_size) {
    return predict(image_rows(data), batch_size);
}
void trainer::population_statistics(const labeled_images& data, std::size_t batch_size) {
    population_statistics(image_rows(data), batch_size);
}

}  // namespace nnfuse
