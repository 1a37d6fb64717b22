// Deterministic inputs for the generated-network tests: values, labels and small image sets.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/data/labeled_images.hpp"
#include "runtime/train/network.hpp"

namespace test_support {

// Values spread like normalized data, from a fixed seed.
inline std::vector<float> random_values(std::size_t count, std::uint32_t seed, float scale = 1.0f,
                                        float offset = 0.0f) {
    std::mt19937 engine(seed);
    std::vector<float> values(count);
    for (float& v : values) {
        // Sum of uniforms: roughly normal, and the same on every standard library.
        double sum = 0.0;
        for (int i = 0; i < 4; ++i) sum += static_cast<double>(engine()) / 4294967296.0;
        v = offset + scale * static_cast<float>((sum - 2.0) * 1.7320508);
    }
    return values;
}

inline std::vector<std::int32_t> random_labels(std::size_t count, std::size_t classes, std::uint32_t seed) {
    std::mt19937 engine(seed);
    std::vector<std::int32_t> labels(count);
    for (auto& label : labels) label = static_cast<std::int32_t>(engine() % classes);
    return labels;
}

// A set of `count` random height x width images with labels below `classes`.
inline nnfuse::labeled_images random_images(std::size_t count, std::size_t height, std::size_t width,
                                            std::size_t classes, std::uint32_t seed) {
    std::mt19937 engine(seed);
    nnfuse::labeled_images set;
    set.count = count;
    set.height = height;
    set.width = width;
    set.pixels.resize(count * height * width);
    for (auto& p : set.pixels) p = static_cast<std::uint8_t>(engine() % 256);
    set.labels.resize(count);
    for (auto& l : set.labels) l = static_cast<std::uint8_t>(engine() % classes);
    return set;
}

// The variable called `name`; fails the test if there is none.
inline const nnfuse::variable_ref& find_variable(nnfuse::network& net, std::string_view name) {
    for (const auto& v : net.variables())
        if (v.name == name) return v;
    FAIL("no variable " << name);
    throw std::logic_error("unreachable");
}

// Moves every trainable value off its initial constant, so no gradient is zero by symmetry.
inline void perturb_trainables(nnfuse::network& net, std::uint32_t seed) {
    for (const auto& v : net.variables()) {
        if (!v.trainable) continue;
        const auto noise = random_values(v.value.size(), seed++, 0.3f);
        for (std::size_t i = 0; i < v.value.size(); ++i) v.value[i] += noise[i];
    }
}

// Every variable's values of `from` copied into `to`: twins of one model (folded and plain, say) with the same
// variables in the same order.
inline void copy_variables(nnfuse::network& from, nnfuse::network& to) {
    const auto source = from.variables();
    const auto target = to.variables();
    REQUIRE(source.size() == target.size());
    for (std::size_t k = 0; k < source.size(); ++k) {
        REQUIRE(source[k].name == target[k].name);
        std::copy(source[k].value.begin(), source[k].value.end(), target[k].value.begin());
    }
}

// Every variable's values, concatenated in the network's order.
inline std::vector<float> snapshot(nnfuse::network& net) {
    std::vector<float> all;
    for (const auto& v : net.variables()) all.insert(all.end(), v.value.begin(), v.value.end());
    return all;
}

}  // namespace test_support
