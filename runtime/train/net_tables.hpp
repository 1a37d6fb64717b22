// net_tables: the constant tables from which a generated Net's constructor lays out its arena and fills its
// variable and batch_norm tables, one loop each. Each table is a `constexpr std::array` of the Net's .gen.cpp (an
// entry a designated initializer naming the Net's member, `&Net::dense_kernel_`), read at run time.
//
// Why tables rather than one statement per entry: a model of 200 layers has 1,400 arena regions, 333 variables and
// 66 batch_norm layers; written out as statements, its constructor was about 4,800 lines and more than half of the
// Net's compile time (GCC's alias walking and store merging over thousands of stores into one object).
//
// requires: every table entry's pointer names a `float*` member of Net; an entry's sizes are in floats.
// ensures: lay_out_arena places the regions in table order, each from a cache line (16 floats), zeroes the whole
//          arena and points each member at its region; the same layout the statements gave.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <string_view>

#include "hwy/aligned_allocator.h"
#include "runtime/train/batch_norm_statistics.hpp"
#include "runtime/train/network.hpp"

namespace nnfuse {

// How many times its `floats` an arena region holds.
enum class region_extent : std::uint8_t {
    once,             // a variable, a gradient, a per-feature statistic
    per_row,          // activations and their gradients: max_batch rows
    per_extra_chunk,  // partial gradients of chunks 1, 2, ...: chunk_count(max_batch) - 1 copies
    per_chunk,        // per-chunk BN moments: chunk_count(max_batch) records
};

template <class Net>
struct arena_region {
    float* Net::*pointer;  // the member that points at the region
    std::size_t floats;    // per unit of extent
    region_extent extent = region_extent::once;
};

// What the extents count, for one Net.
struct arena_counts {
    std::size_t rows;    // max_batch
    std::size_t chunks;  // chunk_count(max_batch), at least 1
};

constexpr std::size_t region_floats(region_extent extent, std::size_t floats, arena_counts counts) {
    switch (extent) {
        case region_extent::per_row:
            return counts.rows * floats;
        case region_extent::per_extra_chunk:
            return (counts.chunks - 1) * floats;
        case region_extent::per_chunk:
            return counts.chunks * floats;
        case region_extent::once:
            break;
    }
    return floats;
}

// One allocation for every region, each starting on its own cache line, zero-filled; each region's member points at
// its start. Returns the arena (the Net keeps it alive as long as the pointers).
template <class Net, std::size_t N>
hwy::AlignedFreeUniquePtr<float[]> lay_out_arena(Net& net, const std::array<arena_region<Net>, N>& regions,
                                                 arena_counts counts) {
    constexpr std::size_t cache_line_floats = 64 / sizeof(float);
    const auto rounded = [](std::size_t floats) {
        return (floats + cache_line_floats - 1) / cache_line_floats * cache_line_floats;
    };
    std::size_t total = 0;
    for (const arena_region<Net>& r : regions) total += rounded(region_floats(r.extent, r.floats, counts));
    hwy::AlignedFreeUniquePtr<float[]> arena = hwy::AllocateAligned<float>(total);
    if (!arena) throw std::bad_alloc();
    std::fill_n(arena.get(), total, 0.0f);
    std::size_t at = 0;
    for (const arena_region<Net>& r : regions) {
        net.*r.pointer = arena.get() + at;
        at += rounded(region_floats(r.extent, r.floats, counts));
    }
    return arena;
}

// A row of the variable table (variable_ref, network.hpp) with the Net's members in place of the views.
template <class Net>
struct variable_entry {
    std::string_view name;
    float* Net::*value;
    std::size_t size;             // of the value and of the gradient, in floats
    float* Net::*grad = nullptr;  // null: not trainable
    initializer init = initializer::zeros;
    std::size_t fan_in = 0, fan_out = 0;
    bool scalar = false;
    std::span<const std::size_t> dims = {};

    variable_ref of(Net& net) const {
        return {.name = name,
                .value = {net.*value, size},
                .grad = grad != nullptr ? std::span<float>(net.*grad, size) : std::span<float>(),
                .trainable = grad != nullptr,
                .init = init,
                .fan_in = fan_in,
                .fan_out = fan_out,
                .scalar = scalar,
                .dims = dims};
    }
};

// A row of the batch_norm table (bn_layer_ref, batch_norm_statistics.hpp) with the Net's members in place of the
// views; the batches-seen counter is the Net's, passed in.
template <class Net>
struct bn_layer_entry {
    std::string_view name;
    std::size_t features;
    std::size_t rows_per_sample;
    bn_profile profile;
    float* Net::*moving_mean;
    float* Net::*moving_variance;

    bn_layer_ref of(Net& net, std::uint64_t& batches_seen) const {
        return {.name = name,
                .features = features,
                .rows_per_sample = rows_per_sample,
                .profile = profile,
                .moving_mean = {net.*moving_mean, features},
                .moving_variance = {net.*moving_variance, features},
                .batches_seen = &batches_seen};
    }
};

}  // namespace nnfuse
