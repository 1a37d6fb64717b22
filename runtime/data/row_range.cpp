#include "runtime/data/row_range.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include <fmt/core.h>

namespace nnfuse {

row_range::row_range(const data_set& set, std::size_t begin, std::size_t count)
    : set_(&set), begin_(begin), count_(count) {
    if (count == 0 || begin > set.rows() || count > set.rows() - begin) {
        throw std::invalid_argument(
            fmt::format("row_range: rows [{}, {}) are not a non-empty range of a set of {} rows", begin, begin + count,
                        set.rows()));
    }
}

template <class Gather>
void row_range::shifted(std::span<const std::uint32_t> rows, std::size_t per_row, Gather gather) const {
    constexpr std::size_t block = 64;
    std::array<std::uint32_t, block> shifted_rows;
    for (std::size_t done = 0; done < rows.size(); done += block) {
        const std::size_t n = std::min(block, rows.size() - done);
        for (std::size_t i = 0; i < n; ++i) shifted_rows[i] = static_cast<std::uint32_t>(rows[done + i] + begin_);
        gather(std::span<const std::uint32_t>(shifted_rows.data(), n), done * per_row);
    }
}

void row_range::gather_features(std::span<const std::uint32_t> rows, float* out) const {
    shifted(rows, features(), [&](auto block, std::size_t at) { set_->gather_features(block, out + at); });
}

void row_range::gather_class_ids(std::span<const std::uint32_t> rows, std::int32_t* out) const {
    shifted(rows, 1, [&](auto block, std::size_t at) { set_->gather_class_ids(block, out + at); });
}

void row_range::gather_target_values(std::span<const std::uint32_t> rows, float* out) const {
    shifted(rows, targets_per_row(), [&](auto block, std::size_t at) { set_->gather_target_values(block, out + at); });
}

pixel_view row_range::pixels() const {
    pixel_view view = set_->pixels();
    if (view.pixels.empty()) return view;
    view.pixels = view.pixels.subspan(begin_ * view.row_size, count_ * view.row_size);
    return view;
}

}  // namespace nnfuse
