// bn_statistics and bn_statistics_groups: over several processes, which chunks' batch statistics normalize a chunk.
//
// bn_statistics::synchronized (the default; Keras's BatchNormalization(synchronized=True), PyTorch's SyncBatchNorm):
//   one group, every chunk of the batch: the statistics of the whole global batch, the same bits as one process.
// bn_statistics::per_rank (PyTorch DDP with a plain BatchNorm, "ghost" batch normalization): one group per process,
//   its share of the chunks (chunk_exchange::share_of): a process normalizes its chunks with their own statistics and
//   forms dx from their own gradient sums, while every parameter gradient still sums every chunk of the batch, and
//   the moving statistics are updated from the statistics of the first group that has rows (rank 0's share, unless
//   it has none in a batch of fewer chunks than processes), as PyTorch DDP broadcasts rank 0's buffers. Results then
//   depend on the process count; with one process they are the synchronized bits.
//
// bn_statistics_groups::of(chunks, rows, chunk_rows, exchange): the groups of a batch of `rows` rows in `chunks`
//   chunks of chunk_rows rows; exchange == nullptr (or one process): one group of every chunk.
//   requires: chunks == ceil(rows / chunk_rows) >= 1.
//   ensures: all() covers [0, chunks) in chunk order, group p = process p's share with its row count; own() is this
//   process's group (maybe empty), moving() the first group with rows. group_of(exchange, p, ...): process p's group.
//   throws std::invalid_argument naming the process when a group has exactly one row (batch normalization needs two
//   values per feature). Allocates only when the process count changes (the first step).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/parallel/chunk_exchange.hpp"

namespace nnfuse {

enum class bn_statistics { synchronized, per_rank };

// The name a command line uses for it ("synchronized", "per-rank").
inline const char* to_string(bn_statistics statistics) {
    return statistics == bn_statistics::per_rank ? "per-rank" : "synchronized";
}

// Chunks [first, first + count) of a batch and the rows they hold.
struct chunk_group {
    std::size_t first = 0, count = 0, rows = 0;
};

class bn_statistics_groups {
public:
    const bn_statistics_groups& of(std::size_t chunks, std::size_t rows, std::size_t chunk_rows,
                                   const chunk_exchange* exchange) {
        const std::size_t processes = exchange == nullptr ? 1 : exchange->processes();
        groups_.resize(processes);
        own_ = moving_ = 0;
        if (processes == 1) {
            groups_[0] = {.first = 0, .count = chunks, .rows = rows};
            return *this;
        }
        own_ = exchange->process();
        bool moving_found = false;
        for (std::size_t p = 0; p < processes; ++p) {
            groups_[p] = group_of(*exchange, p, chunks, rows, chunk_rows);
            if (groups_[p].rows == 1) {
                throw std::invalid_argument("per-rank batch statistics: process " + std::to_string(p) +
                                            "'s share of a batch of " + std::to_string(rows) +
                                            " rows is one row; batch normalization needs at least 2 values per "
                                            "feature");
            }
            if (!moving_found && groups_[p].rows != 0) {
                moving_ = p;
                moving_found = true;
            }
        }
        return *this;
    }

    // Process p's share of such a batch as a group.
    static chunk_group group_of(const chunk_exchange& exchange, std::size_t p, std::size_t chunks, std::size_t rows,
                                std::size_t chunk_rows) {
        const chunk_share share = exchange.share_of(p, chunks);
        if (share.count == 0) return {.first = share.first, .count = 0, .rows = 0};
        const std::size_t end = std::min(rows, (share.first + share.count) * chunk_rows);
        return {.first = share.first, .count = share.count, .rows = end - share.first * chunk_rows};
    }

    std::span<const chunk_group> all() const { return groups_; }
    const chunk_group& own() const { return groups_[own_]; }
    const chunk_group& moving() const { return groups_[moving_]; }
    std::size_t own_index() const { return own_; }
    std::size_t moving_index() const { return moving_; }

private:
    std::vector<chunk_group> groups_{chunk_group{}};
    std::size_t own_ = 0, moving_ = 0;
};

}  // namespace nnfuse
