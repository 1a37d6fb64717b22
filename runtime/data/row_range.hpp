// nnfuse::row_range: consecutive rows [begin, begin + count) of another data set, as a data set of its own (a view:
// the set must outlive it). Keras's validation_split holds out the last rows of the training data this way:
// first_rows(set, n) and last_rows(set, n) are the two parts.
// requires: count > 0 and begin + count <= set.rows() (else std::invalid_argument naming the numbers).
// ensures: row i of the range is row begin + i of the set, features and targets alike; a set of pixels stays one
//          (pixels() is the sub-range of the set's), so the pixel fast path keeps working.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "runtime/data/data_set.hpp"

namespace nnfuse {

class row_range final : public data_set {
public:
    row_range(const data_set& set, std::size_t begin, std::size_t count);

    std::size_t rows() const override { return count_; }
    std::size_t features() const override { return set_->features(); }
    target_kind targets() const override { return set_->targets(); }
    std::size_t targets_per_row() const override { return set_->targets_per_row(); }

    void gather_features(std::span<const std::uint32_t> rows, float* out) const override;
    void gather_class_ids(std::span<const std::uint32_t> rows, std::int32_t* out) const override;
    void gather_target_values(std::span<const std::uint32_t> rows, float* out) const override;
    pixel_view pixels() const override;

private:
    // Calls gather(rows of the set) a block of rows at a time, shifted by begin_ (no allocation).
    template <class Gather>
    void shifted(std::span<const std::uint32_t> rows, std::size_t per_row, Gather gather) const;

    const data_set* set_;
    std::size_t begin_, count_;
};

inline row_range first_rows(const data_set& set, std::size_t count) { return {set, 0, count}; }
inline row_range last_rows(const data_set& set, std::size_t count) {
    return {set, set.rows() - std::min(count, set.rows()), count};
}

}  // namespace nnfuse
