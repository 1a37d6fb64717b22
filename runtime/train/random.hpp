// nnfuse::random_stream: the seeded random numbers of initialization and shuffling.
//
// std::mt19937_64 fixes the raw stream; the conversions to floats and indices are our own, not
// std::uniform_*_distribution, whose algorithms differ between standard libraries: the same seed
// gives the same weights and the same batches everywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <utility>

namespace nnfuse {

class random_stream {
public:
    explicit random_stream(std::uint64_t seed) : engine_(seed) {}

    // Uniform in [0, 1), 24 random bits: every value a float can hold exactly.
    float uniform01() { return static_cast<float>(engine_() >> 40) * 0x1.0p-24f; }

    // Uniform in [0, bound), by rejection so that no index is favoured.
    std::uint64_t below(std::uint64_t bound) {
        const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);
        std::uint64_t r;
        do r = engine_();
        while (r >= limit);
        return r % bound;
    }

    // Fisher-Yates.
    template <class T>
    void shuffle(std::span<T> items) {
        for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[below(i)]);
    }

private:
    std::mt19937_64 engine_;
};

}  // namespace nnfuse
