// nnfuse::network: the one interface through which runtime/ drives any generated model.
//
// A generated Net (codegen/) implements it; the trainer, evaluator, checkpoints and summaries use
// only what is here, so runtime/ never switches on layer kinds. What only some models have is an optional
// capability, its own interface in its own header, reached through an as_...() accessor that returns nullptr
// when the network lacks it: batch_norm_statistics (BN layers' moving statistics and inputs),
// normalization_statistics (the input standardization adapt() fits) and pixel_training (a step on uint8 image rows);
// randomness() is the state of the random numbers training draws. Buffers are sized for max_batch() rows at
// construction: no allocation happens inside a training step. requires: rows <= max_batch() in every call; x holds rows
// * input_size() floats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dsl/initializer.hpp"
#include "runtime/train/loss_interface.hpp"
#include "runtime/train/random_state.hpp"

namespace nnfuse {

// Which forward pass: training (batch statistics) or inference (moving statistics).
enum class mode { train, infer };

class batch_norm_statistics;
class chunk_exchange;
class normalization_statistics;
class pixel_training;

// One variable of the model, by its Keras name, with its values and (if trainable) its gradient.
struct variable_ref {
    std::string_view name;
    std::span<float> value;
    std::span<float> grad;  // empty when not trainable
    bool trainable = false;
    initializer init = initializer::zeros;
    std::size_t fan_in = 0, fan_out = 0;     // for glorot_uniform
    bool scalar = false;                     // shape () rather than (value.size(),): one value (normalization's count)
    std::span<const std::size_t> dims = {};  // the shape of a variable of rank > 2 (a Conv2D kernel); empty otherwise
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

    // Inference mode (moving statistics): the loss and its metric, no gradients; the same targets as train_batch.
    virtual batch_result evaluate_batch(const float* x, batch_targets targets, std::size_t rows) = 0;

    // Inference mode: rows * output_size() floats, class probabilities for a classifier (the softmax the loss
    // fuses in training), the model's outputs otherwise.
    virtual void predict_batch(const float* x, std::size_t rows, float* predictions) = 0;

    // Optional capabilities: this network as that interface, or nullptr when it has none (the pointer is valid as
    // long as the network).
    virtual batch_norm_statistics* as_batch_norm_statistics() { return nullptr; }        // batch_norm_statistics.hpp
    virtual pixel_training* as_pixel_training() { return nullptr; }                      // pixel_training.hpp
    virtual normalization_statistics* as_normalization_statistics() { return nullptr; }  // normalization_statistics.hpp

    // Optional capability: the state of the random numbers training draws (runtime/train/random_state.hpp), or
    // nullptr for a network whose training draws none (no dropout layer: its steps are a function of the weights
    // and the batch alone, so there is nothing to seed or to save). The trainer sets its seed; training
    // checkpoints save and restore it. Valid as long as the network.
    virtual random_state* randomness() { return nullptr; }

    // Optional capability: training steps over several processes, each computing its share of every batch's chunks
    // (runtime/parallel/chunk_exchange.hpp: the same bits as one process); nullptr returns to one process. The
    // exchange must outlive its use. A network that cannot (a step that needs every row of the batch in one place,
    // such as a batch_norm layer that is not folded into a dense one) throws std::invalid_argument naming the reason.
    virtual void set_chunk_exchange(chunk_exchange* exchange);
};

}  // namespace nnfuse
