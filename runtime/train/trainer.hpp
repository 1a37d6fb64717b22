// nnfuse::trainer: Keras's fit / evaluate / predict for any generated network, on any data set.
//
// The network holds the model; the trainer feeds it batches of a data set (runtime/data/data_set.hpp: float_rows
// over the caller's arrays or a table read from CSV or NPY, image_rows over a uint8 image set), steps the
// optimizer on the trainable variables, prints Keras's progress and returns a history.
//   fit: each epoch visits every training row once, in an order shuffled from (seed, epoch) (in file order when
//        options.shuffle is false); a final batch of one row joins the batch before it (batch normalization
//        cannot train on one). A non-finite loss stops training with training_diverged naming the epoch and batch
//        (Keras's TerminateOnNaN), before the optimizer applies that batch's gradients.
//        Epochs run from options.initial_epoch to options.epochs - 1 (Keras's numbering), or until early_stop
//        stops them; a fit from epoch 0 resets the callbacks' state, a later one continues it (a resumed run), and
//        one whose early_stop had already stopped trains nothing.
//        Validation as Keras: validation_data is a set of its own; validation_split in (0, 1) holds out the last
//        floor(rows * split) rows of the training set (before any shuffling) and trains on the others. Each epoch
//        ends with the validation's val_loss and val_<metric> (and val_rmse for a regression loss).
//        A network with randomness() (dropout) gets options.seed as its seed; its step is left as it is, so a
//        second fit, or a resumed one whose checkpoint restored the step, continues the sequence of masks.
//        A set of uint8 pixels (data_set::pixels()) trains through the network's pixel_training capability
//        (runtime/train/pixel_training.hpp) when it has one: no float copy of the batch; any other set is gathered
//        into a float batch chunk by chunk on the network's threads and trained with train_batch.
//   evaluate: inference mode (moving statistics); the mean loss and the loss's metric, as Keras's evaluate; for a
//        regression loss (metric mae) also the root mean squared error and R^2 (1 - SS_res / SS_tot per output,
//        averaged over the outputs: Keras's R2Score, class_aggregation "uniform_average").
//   predict: inference mode; rows * output_size() floats (class probabilities for a classifier). Needs no targets.
//   population_statistics: replaces every BN layer's moving statistics with the exact mean and
//        (biased) variance of its input over the whole set, in inference mode, layer after layer,
//        merged across batches in double (Chan et al., the kernels' merge: runtime/kernels/chan_merge-inl.h).
//        Through the network's batch_norm_statistics capability; a network without it (no BN layer) has
//        nothing to replace, and the call only checks the set and batch size.
//   The progress and the history name the loss's metric as Keras does (network::loss().metric_name: "accuracy",
//   "binary_accuracy", "mae").
// requires (else std::invalid_argument naming the set and the value): the set's rows have net.input_size()
//   features; fit and evaluate: targets of the kind the model's loss takes (class ids below net.output_size(), or
//   loss().targets_per_sample floats per row); batch sizes from 2 (fit) or 1 (the others) to net.max_batch() - 1
//   (fit) or max_batch().
// The labeled_images overloads read the set as image_rows (pixels / 255).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/data/data_set.hpp"
#include "runtime/data/labeled_images.hpp"
#include "runtime/optim/optimizer.hpp"
#include "runtime/report/history.hpp"
#include "runtime/train/fit_callbacks.hpp"
#include "runtime/train/network.hpp"

namespace nnfuse {

struct training_diverged : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct fit_options {
    std::size_t epochs = 5;
    std::size_t batch_size = 32;
    std::uint64_t seed = 42;
    bool shuffle = true;  // Keras's default: a new order every epoch
    // Keras's validation_data and validation_split (at most one of them; both is std::invalid_argument).
    const data_set* validation_data = nullptr;
    double validation_split = 0.0;
    std::ostream* log = nullptr;  // progress; nullptr prints nothing
    bool interactive = false;     // redraw the bar in place (a terminal)
    // Keras's initial_epoch: a resumed run starts here; epochs are numbered from 0 up to `epochs`.
    std::size_t initial_epoch = 0;
    // Keras's callbacks (runtime/train/fit_callbacks.hpp; not owned, may be nullptr): a learning-rate schedule,
    // EarlyStopping, ReduceLROnPlateau (not with a schedule). With a schedule or reduce_lr the logs carry
    // "learning_rate", the rate of the epoch's last step.
    const learning_rate_schedule* schedule = nullptr;
    early_stopping* early_stop = nullptr;
    reduce_lr_on_plateau* reduce_lr = nullptr;
    // Called after each optimizer step; the network's gradients are still those of that batch.
    std::function<void(std::size_t epoch, std::size_t batch)> on_batch_end = {};
    // Called after each epoch with the history so far (e.g. to save a checkpoint).
    std::function<void(std::size_t epoch, const history&)> on_epoch_end = {};
};

struct evaluation {
    double loss = 0.0;
    std::string metric_name;  // Keras's name of the loss's metric: "accuracy", "binary_accuracy", "mae"
    double metric = 0.0;
    double accuracy = 0.0;   // the metric when it is "accuracy" (a classifier), NaN otherwise
    double rmse = 0.0;       // regression losses (metric mae) only, NaN otherwise
    double r_squared = 0.0;  // regression losses only, NaN otherwise; NaN also for an output constant over the set
};

class trainer {
public:
    trainer(network& net, optimizer& opt);

    history fit(const data_set& train, const fit_options& options);
    evaluation evaluate(const data_set& data, std::size_t batch_size);
    std::vector<float> predict(const data_set& data, std::size_t batch_size);
    void population_statistics(const data_set& data, std::size_t batch_size);

    history fit(const labeled_images& train, const fit_options& options);
    evaluation evaluate(const labeled_images& data, std::size_t batch_size);
    std::vector<float> predict(const labeled_images& data, std::size_t batch_size);
    void population_statistics(const labeled_images& data, std::size_t batch_size);

private:
    enum class needs { features, targets };
    void check_set(const data_set& data, const char* what, needs what_it_needs) const;
    void check_batch_size(std::size_t batch_size) const;
    // The rows' features into batch_x_, gathered chunk by chunk on the network's threads.
    void load_features(const data_set& data, std::span<const std::uint32_t> samples);
    // The rows' targets into batch_labels_ or batch_values_; the batch_targets that point at them.
    batch_targets load_targets(const data_set& data, std::span<const std::uint32_t> samples);
    // One training step on the rows `samples` (next: the next batch's rows, to prefetch): the pixel_training
    // capability for a set of pixels when the network has it, otherwise gathered floats and train_batch.
    batch_result train_step(const data_set& data, std::span<const std::uint32_t> samples,
                            std::span<const std::uint32_t> next);
    history fit_epochs(const data_set& train, const data_set* validation, const fit_options& options);

    network& net_;
    optimizer& optimizer_;
    std::vector<parameter_ref> trainable_;
    std::vector<float> batch_x_;
    std::vector<std::int32_t> batch_labels_;
    std::vector<float> batch_values_;
};

}  // namespace nnfuse
