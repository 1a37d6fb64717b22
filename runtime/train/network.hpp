// nnfuse::network: the one interface through which runtime/ drives any generated model.
//
// A generated Net (codegen/) implements it; the trainer, evaluator, checkpoints and summaries use
// only what is here, so runtime/ never switches on layer kinds. Buffers are sized for
// max_batch() rows at construction: no allocation happens inside a training step.
// requires: rows <= max_batch() in every call; x holds rows * input_size() floats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dsl/initializer.hpp"
#include "dsl/layers/batch_norm.hpp"
#include "runtime/data/pixel_rows.hpp"
#include "runtime/train/loss_interface.hpp"
#include "runtime/train/random_state.hpp"

namespace nnfuse {

// Which forward pass: training (batch statistics) or inference (moving statistics).
enum class mode { train, infer };

// One variable of the model, by its Keras name, with its values and (if trainable) its gradient.
struct variable_ref {
    std::string_view name;
    std::span<float> value;
    std::span<float> grad;  // empty when not trainable
    bool trainable = false;
    initializer init = initializer::zeros;
    std::size_t fan_in = 0, fan_out = 0;  // for glorot_uniform
};

// A batch-normalization layer as the statistics code sees it: where its input is and which
// variables hold its moving statistics.
struct bn_layer_ref {
    std::string_view name;
    std::size_t features = 0;         // C
    std::size_t rows_per_sample = 1;  // values per feature in one sample
    bn_profile profile = bn_profile::keras;
    std::span<float> moving_mean, moving_variance;
    std::uint64_t* batches_seen = nullptr;  // counter for torch's cumulative average
};

// A callable body(begin, count), by reference: unlike std::function it never allocates, so it can be passed once
// per training step. The callable must outlive the call it is passed to (a lambda argument does).
class chunk_body_ref {
public:
    template <class Body>
    chunk_body_ref(const Body& body)  // NOLINT(google-explicit-constructor): a lambda converts, as to std::function
        : body_(&body), call_([](const void* b, std::size_t begin, std::size_t count) {
              (*static_cast<const Body*>(b))(begin, count);
          }) {}
    void operator()(std::size_t begin, std::size_t count) const { call_(body_, begin, count); }

private:
    const void* body_;
    void (*call_)(const void*, std::size_t, std::size_t);
};

class network {
public:
    virtual ~network() = default;

    virtual std::string_view model_name() const = 0;
    // The layers as declared, one per line: "name (Class) output-shape options", e.g.
    // "dense (Dense) (None, 20) units=20 activation=elu use_bias=true".
    virtual std::string_view architecture() const = 0;
    virtual std::size_t input_size() const = 0;   // floats per sample
    virtual std::size_t output_size() const = 0;  // floats per sample of the output (classes for a classifier)
    virtual std::size_t max_batch() const = 0;
    // The loss the model declares: which targets a batch takes and which metric batch_result sums.
    virtual network_loss loss() const = 0;

    virtual std::span<const variable_ref> variables() = 0;
    virtual std::span<const bn_layer_ref> bn_layers() = 0;

    // Threads for the training step (>= 1). Results do not depend on it: batches are cut into chunks by their
    // row count alone (runtime/parallel/chunk_runner.hpp).
    virtual void set_threads(std::size_t threads) = 0;
    virtual std::size_t threads() const = 0;
    // Calls body(begin, count) for each chunk of a batch of `rows` rows (rows [begin, begin + count)) on those
    // threads: for the work a caller does row by row before a step, such as widening a uint8 batch to floats.
    // body writes only what belongs to its rows and does not throw.
    virtual void for_each_chunk(std::size_t rows, chunk_body_ref body) = 0;

    // One training step's forward and backward: batch statistics, moving-statistics update,
    // the model's loss (mean over the batch) and every trainable gradient.
    // Throws std::invalid_argument when a BN layer would see fewer than 2 values per feature, or when `targets`
    // are not of the kind loss().target (loss_interface.hpp).
    virtual batch_result train_batch(const float* x, batch_targets targets, std::size_t rows) = 0;

    // The same step on the rows of a uint8 image set (runtime/data/pixel_rows.hpp): batch.samples.size() rows;
    // std::invalid_argument unless batch.row_size == input_size() and every index is a row of the set. A model
    // whose first layer is a batch normalization folded into a dense layer reads the pixels itself (its
    // statistics from exact integer sums, xhat from the pixels: no float copy of the batch, see the manifest);
    // any other widens them to floats on the training threads and runs train_batch's step. Both ask for
    // batch.next_samples' rows to be brought into cache.
    virtual batch_result train_pixel_batch(const pixel_batch& batch, batch_targets targets) = 0;

    // Inference mode (moving statistics): the loss and its metric, no gradients; the same targets as train_batch.
    virtual batch_result evaluate_batch(const float* x, batch_targets targets, std::size_t rows) = 0;

    // Inference mode: rows * output_size() floats, class probabilities for a classifier (the softmax the loss
    // fuses in training), the model's outputs otherwise.
    virtual void predict_batch(const float* x, std::size_t rows, float* predictions) = 0;

    // Inference mode up to BN layer `bn_index`: returns its input, rows * rows_per_sample * features
    // floats, valid until the next call. Used to compute population statistics.
    virtual const float* bn_input(std::size_t bn_index, const float* x, std::size_t rows) = 0;

    // Optional capability: the state of the random numbers training draws (runtime/train/random_state.hpp), or
    // nullptr for a network whose training draws none (no dropout layer: its steps are a function of the weights
    // and the batch alone, so there is nothing to seed or to save). The trainer sets its seed; training
    // checkpoints save and restore it. Valid as long as the network.
    virtual random_state* randomness() { return nullptr; }
};

}  // namespace nnfuse
