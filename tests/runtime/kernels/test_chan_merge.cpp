// ChanMerge (runtime/kernels/chan_merge-inl.h) on every compiled SIMD target, on vectors of doubles as the BN kernels
// use it, and on plain doubles at the static target as the trainer's population statistics use it: parts of a data
// set merged in order give the mean and M2 (sum of squared deviations) of the whole, against a long double two-pass
// reference; the first merge, into nothing, is an exact copy.
//
// Tolerance: the merge's error grows by a few unit roundoffs (u = 2^-53) of the merged values per merge, so 1e-12
// relative for 12 merges leaves a wide margin while E[x^2] - E[x]^2 on these values (offset 1e4, spread 1) would be
// off by about 1e-8 relative in M2.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/kernels/test_chan_merge.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/kernels/chan_merge-inl.h"
#include "tests/support/simd_targets.hpp"

#ifndef NNFUSE_TESTS_CHAN_MERGE_CONSTANTS_
#define NNFUSE_TESTS_CHAN_MERGE_CONSTANTS_
#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <vector>

namespace nnfuse::test {
constexpr std::size_t kFeatures = 16;  // a multiple of every target's doubles per vector
}  // namespace nnfuse::test
#endif  // NNFUSE_TESTS_CHAN_MERGE_CONSTANTS_

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Merges `parts` partial statistics (counts[p], means[p * kFeatures + c], m2s[p * kFeatures + c]) in order into
// mean and m2 (kFeatures each, zero before), one vector of features at a time.
void MergeParts(const double* counts, const double* means, const double* m2s, std::size_t parts, double* mean,
                double* m2) {
    const hn::ScalableTag<double> d;
    double count = 0.0;
    for (std::size_t p = 0; p < parts; ++p) {
        const auto weights = kernels::HWY_NAMESPACE::ChanWeightsFor(count, counts[p]);
        for (std::size_t c = 0; c < kFeatures; c += hn::Lanes(d)) {
            auto merged_mean = hn::LoadU(d, mean + c), merged_m2 = hn::LoadU(d, m2 + c);
            kernels::HWY_NAMESPACE::ChanMerge(merged_mean, merged_m2, hn::LoadU(d, means + p * kFeatures + c),
                                              hn::LoadU(d, m2s + p * kFeatures + c), hn::Set(d, weights.of_b),
                                              hn::Set(d, weights.cross));
            hn::StoreU(merged_mean, d, mean + c);
            hn::StoreU(merged_m2, d, m2 + c);
        }
        count += counts[p];
    }
}

std::int64_t CompiledTarget() { return HWY_TARGET; }

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <catch2/catch.hpp>

namespace nnfuse::test {
namespace {

HWY_EXPORT(MergeParts);
HWY_EXPORT(CompiledTarget);

struct parts_of_a_set {
    std::vector<double> counts, means, m2s;         // per part, as merged
    std::vector<long double> whole_mean, whole_m2;  // the reference, per feature
};

// Parts of 1 to 300 values (a part of one value has M2 = 0), values 1e4 + (feature + 1) * N(0, 1).
parts_of_a_set make_parts() {
    std::mt19937 random(17);
    std::normal_distribution<double> noise;
    const std::vector<std::size_t> sizes = {37, 1, 300, 64, 2, 129, 1, 64, 5, 250, 3, 77};
    std::vector<std::vector<double>> values(kFeatures);
    parts_of_a_set set;
    for (const std::size_t size : sizes) {
        set.counts.push_back(static_cast<double>(size));
        for (std::size_t c = 0; c < kFeatures; ++c) {
            long double sum = 0;
            std::vector<double> part(size);
            for (double& v : part) sum += v = 1e4 + static_cast<double>(c + 1) * noise(random);
            const long double part_mean = sum / static_cast<long double>(size);
            long double part_m2 = 0;
            for (const double v : part) part_m2 += (v - part_mean) * (v - part_mean);
            set.means.push_back(static_cast<double>(part_mean));
            set.m2s.push_back(static_cast<double>(part_m2));
            values[c].insert(values[c].end(), part.begin(), part.end());
        }
    }
    // means and m2s were pushed part-major, feature-minor: the layout MergeParts reads.
    for (std::size_t c = 0; c < kFeatures; ++c) {
        long double sum = 0;
        for (const double v : values[c]) sum += v;
        const long double mean = sum / static_cast<long double>(values[c].size());
        long double m2 = 0;
        for (const double v : values[c]) m2 += (v - mean) * (v - mean);
        set.whole_mean.push_back(mean);
        set.whole_m2.push_back(m2);
    }
    return set;
}

void check_against_whole(const parts_of_a_set& set, const std::vector<double>& mean, const std::vector<double>& m2) {
    for (std::size_t c = 0; c < kFeatures; ++c) {
        INFO("feature " << c);
        CHECK(std::abs(mean[c] - static_cast<double>(set.whole_mean[c])) <=
              1e-12 * std::abs(static_cast<double>(set.whole_mean[c])));
        CHECK(std::abs(m2[c] - static_cast<double>(set.whole_m2[c])) <= 1e-12 * static_cast<double>(set.whole_m2[c]));
    }
}

TEST_CASE("ChanMerge of parts in order gives the whole set's mean and M2, on every target", "[kernels][chan]") {
    const parts_of_a_set set = make_parts();
    for_each_simd_target(HWY_DYNAMIC_DISPATCH(CompiledTarget), [&] {
        std::vector<double> mean(kFeatures, 0.0), m2(kFeatures, 0.0);
        HWY_DYNAMIC_DISPATCH(MergeParts)
        (set.counts.data(), set.means.data(), set.m2s.data(), set.counts.size(), mean.data(), m2.data());
        check_against_whole(set, mean, m2);

        // The first part alone: merged into nothing, copied bit for bit.
        std::vector<double> first_mean(kFeatures, 0.0), first_m2(kFeatures, 0.0);
        HWY_DYNAMIC_DISPATCH(MergeParts)
        (set.counts.data(), set.means.data(), set.m2s.data(), 1, first_mean.data(), first_m2.data());
        CHECK(std::memcmp(first_mean.data(), set.means.data(), kFeatures * sizeof(double)) == 0);
        CHECK(std::memcmp(first_m2.data(), set.m2s.data(), kFeatures * sizeof(double)) == 0);
    });
}

TEST_CASE("ChanMerge on plain doubles (the trainer's population statistics) gives the whole set's mean and M2",
          "[kernels][chan]") {
    const parts_of_a_set set = make_parts();
    std::vector<double> mean(kFeatures, 0.0), m2(kFeatures, 0.0);
    double count = 0.0;
    for (std::size_t p = 0; p < set.counts.size(); ++p) {
        const auto weights = kernels::HWY_NAMESPACE::ChanWeightsFor(count, set.counts[p]);
        for (std::size_t c = 0; c < kFeatures; ++c) {
            kernels::HWY_NAMESPACE::ChanMerge(mean[c], m2[c], set.means[p * kFeatures + c], set.m2s[p * kFeatures + c],
                                              weights.of_b, weights.cross);
        }
        count += set.counts[p];
        if (p == 0) {
            CHECK(std::memcmp(mean.data(), set.means.data(), kFeatures * sizeof(double)) == 0);
            CHECK(std::memcmp(m2.data(), set.m2s.data(), kFeatures * sizeof(double)) == 0);
        }
    }
    check_against_whole(set, mean, m2);
}

}  // namespace
}  // namespace nnfuse::test
#endif  // HWY_ONCE
