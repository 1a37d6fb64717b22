// nnfuse::trainer: Keras's fit / evaluate / predict for any generated network.
//
// The network holds the model; the trainer feeds it batches of a labeled_images set (uint8 pixels
// scaled to [0, 1] as they are copied into the batch), steps the optimizer on the trainable
// variables, prints Keras's progress and returns a history.
//   fit: each epoch visits every sample once, in an order shuffled from (seed, epoch); a final
//        batch of one sample joins the batch before it (batch normalization cannot train on one).
//        A non-finite loss stops training with training_diverged naming the epoch and batch
//        (Keras's TerminateOnNaN), before the optimizer applies that batch's gradients.
//        Epochs run from options.initial_epoch to options.epochs - 1 (Keras's numbering).
//        A network with randomness() (dropout) gets options.seed as its seed; its step is left as it is, so a
//        second fit, or a resumed one whose checkpoint restored the step, continues the sequence of masks.
//   evaluate: inference mode, mean loss and accuracy.
//        Each step goes through the network's pixel_training capability (runtime/train/pixel_training.hpp)
//        when it offers one; otherwise the trainer widens the batch to floats itself and calls train_batch.
//   The progress and the history name the loss's metric as Keras does (network::loss().metric_name: "accuracy").
//   fit and evaluate take classifiers (a loss on class ids, the labels of labeled_images): a model whose loss
//   trains on float targets (mean_squared_error) is refused with std::invalid_argument; it trains through
//   network::train_batch with float targets.
//   population_statistics: replaces every BN layer's moving statistics with the exact mean and
//        (biased) variance of its input over the whole set, in inference mode, layer after layer,
//        merged across batches in double (Chan et al., the kernels' merge: runtime/kernels/chan_merge-inl.h).
//        Through the network's batch_norm_statistics capability; a network without it (no BN layer) has
//        nothing to replace, and the call only checks the set and batch size.
// requires: the set's samples have net.input_size() pixels; labels < net.output_size();
//           batch sizes from 2 (fit) or 1 (evaluate) to net.max_batch() - 1 (fit) or max_batch().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <span>
#include <stdexcept>
#include <vector>

#include "runtime/data/labeled_images.hpp"
#include "runtime/data/pixel_rows.hpp"
#include "runtime/optim/optimizer.hpp"
#include "runtime/report/history.hpp"
#include "runtime/train/network.hpp"

namespace nnfuse {

struct training_diverged : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct fit_options {
    std::size_t epochs = 5;
    std::size_t batch_size = 32;
    std::uint64_t seed = 42;
    const labeled_images* validation = nullptr;  // evaluated after each epoch: val_loss, val_accuracy
    std::ostream* log = nullptr;                 // progress; nullptr prints nothing
    bool interactive = false;                    // redraw the bar in place (a terminal)
    // Keras's initial_epoch: a resumed run starts here; epochs are numbered from 0 up to `epochs`.
    std::size_t initial_epoch = 0;
    // Called after each optimizer step; the network's gradients are still those of that batch.
    std::function<void(std::size_t epoch, std::size_t batch)> on_batch_end;
    // Called after each epoch with the history so far (e.g. to save a checkpoint).
    std::function<void(std::size_t epoch, const history&)> on_epoch_end;
};

struct evaluation {
    double loss = 0.0;
    double accuracy = 0.0;
};

class trainer {
public:
    trainer(network& net, optimizer& opt);

    history fit(const labeled_images& train, const fit_options& options);
    evaluation evaluate(const labeled_images& data, std::size_t batch_size);
    std::vector<float> predict(const labeled_images& data, std::size_t batch_size);
    void population_statistics(const labeled_images& data, std::size_t batch_size);

private:
    void check_set(const labeled_images& data, const char* what) const;
    void check_classifier(const char* what) const;
    // Widens the samples' pixels into batch_x_ (evaluation, prediction, population statistics), labels as below.
    void load_batch(const labeled_images& data, std::span<const std::uint32_t> samples);
    void widen_rows(const std::uint8_t* pixels, std::span<const std::uint32_t> samples, float scale);
    // One training step on a batch of pixel rows whose labels are loaded: the network's pixel_training capability
    // when it has one, otherwise the rows widened here and train_batch.
    batch_result train_pixels(const pixel_batch& batch);
    void load_labels(const labeled_images& data, std::span<const std::uint32_t> samples);
    std::size_t max_rows() const { return net_.max_batch(); }

    network& net_;
    optimizer& optimizer_;
    std::vector<parameter_ref> trainable_;
    std::vector<float> batch_x_;
    std::vector<std::int32_t> batch_labels_;
};

}  // namespace nnfuse
