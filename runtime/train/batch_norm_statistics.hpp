// nnfuse::batch_norm_statistics: an optional capability of a network (runtime/train/network.hpp) that has
// batch-normalization layers: where each one's input is and which variables hold its moving statistics, for the
// code that computes or keeps those statistics without knowing the model (the trainer's population statistics,
// checkpoints' step counters, initialization).
//
// Reached through network::as_batch_norm_statistics(), which returns nullptr for a network without BN layers; a
// generated Net offers it exactly when its model has one (codegen/templates/snippets/bn_statistics_*.in).
//   bn_layers(): one entry per BN layer, in model order; the spans and the counter point into the network and are
//       valid as long as it is. moving_mean and moving_variance are also among network::variables() (so
//       checkpoints save them as variables); batches_seen is state outside the variables.
//   bn_input(bn_index, x, rows): inference mode (moving statistics) up to BN layer bn_index; returns its input,
//       rows * rows_per_sample * features floats, valid until the next call on the network.
//       requires: rows in [1, max_batch()]; x holds rows * input_size() floats.
//       throws std::out_of_range unless bn_index < bn_layers().size(), std::invalid_argument for rows.
//   set_batch_statistics(s), batch_statistics(): over several processes (network::set_chunk_exchange), whether a
//       training step normalizes with the statistics of the whole global batch (bn_statistics::synchronized, the
//       default) or of each process's share of it (bn_statistics::per_rank, PyTorch DDP's plain BatchNorm);
//       runtime/parallel/bn_statistics_groups.hpp says what each means. In one process both give the same bits.
// bn_layers_of(net): net's BN layers through the capability, none when it has no BN layer (for code such as
// checkpoints that treats "no BN layer" like any other count).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dsl/layers/batch_norm.hpp"
#include "runtime/parallel/bn_statistics_groups.hpp"
#include "runtime/train/network.hpp"

namespace nnfuse {

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

class batch_norm_statistics {
public:
    virtual std::span<const bn_layer_ref> bn_layers() = 0;
    virtual const float* bn_input(std::size_t bn_index, const float* x, std::size_t rows) = 0;
    virtual void set_batch_statistics(bn_statistics statistics) = 0;
    virtual bn_statistics batch_statistics() const = 0;

protected:
    // Not owned through this interface: the network that offers it owns it.
    ~batch_norm_statistics() = default;
};

inline std::span<const bn_layer_ref> bn_layers_of(network& net) {
    batch_norm_statistics* const statistics = net.as_batch_norm_statistics();
    return statistics != nullptr ? statistics->bn_layers() : std::span<const bn_layer_ref>{};
}

}  // namespace nnfuse
