// Chan, Golub & LeVeque's pairwise update of per-feature statistics (count, mean, M2 = sum of squared
// deviations): the one merge of partial statistics in nnfuse. The BN kernels merge blocks and chunks with it
// (bn_moments-inl.h's RunningMoments, on vectors of doubles); the trainer's population statistics merge batches
// with it (runtime/train/trainer.cpp, on plain doubles, this header included at the static target).
//
//   ChanWeightsFor(count_a, count_b): the two weights of merging count_b values into count_a values,
//       of_b = count_b / (count_a + count_b) and cross = count_a * count_b / (count_a + count_b).
//   ChanMerge(mean, m2, mean_b, m2_b, of_b, cross): with delta = mean_b - mean,
//       mean = MulAdd(delta, of_b, mean)            (the merged mean)
//       m2   = m2 + MulAdd(delta * delta, cross, m2_b)
//   requires: count_b > 0; V is double or a Highway vector of doubles, of_b and cross then broadcast.
//   ensures:  the operations run in that order, each rounded once (MulAdd: Highway's, fused where the target has
//             FMA; for doubles mul * x + add as written); merged into mean = m2 = 0 with count_a == 0 (of_b = 1,
//             cross = 0), the result is exactly (mean_b, m2_b).
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_CHAN_MERGE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_CHAN_MERGE_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_CHAN_MERGE_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_CHAN_MERGE_INL_H_
#endif

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {

struct ChanWeights {
    double of_b;   // count_b / (count_a + count_b)
    double cross;  // count_a * count_b / (count_a + count_b)
};

HWY_INLINE ChanWeights ChanWeightsFor(double count_a, double count_b) {
    return {count_b / (count_a + count_b), count_a * count_b / (count_a + count_b)};
}

namespace chan_detail {
// Highway's MulAdd for a plain double: mul * x + add.
HWY_INLINE double MulAdd(double mul, double x, double add) { return mul * x + add; }
}  // namespace chan_detail

template <class V>
HWY_INLINE void ChanMerge(V& mean, V& m2, V mean_b, V m2_b, V of_b, V cross) {
    using chan_detail::MulAdd;  // for doubles; a Highway vector finds hn::MulAdd by argument-dependent lookup
    const V delta = mean_b - mean;
    mean = MulAdd(delta, of_b, mean);
    m2 = m2 + MulAdd(delta * delta, cross, m2_b);
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_CHAN_MERGE_INL_H_
