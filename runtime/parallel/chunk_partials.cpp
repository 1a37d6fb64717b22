// add_chunk_partials (chunk_runner.hpp), per SIMD target (Highway): a vector of each partial at a time, partials in
// chunk order, so each element's sum is the same on every target and for any thread count.
#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "runtime/parallel/chunk_partials.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "runtime/parallel/chunk_runner.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void AddChunkPartials(float* HWY_RESTRICT total, const float* HWY_RESTRICT partials, std::size_t size,
                      std::size_t chunks) {
    const hn::ScalableTag<float> d;
    const std::size_t lanes = hn::Lanes(d);
    std::size_t i = 0;
    for (; i + lanes <= size; i += lanes) {
        auto sum = hn::LoadU(d, total + i);
        for (std::size_t k = 0; k + 1 < chunks; ++k) sum = hn::Add(sum, hn::LoadU(d, partials + k * size + i));
        hn::StoreU(sum, d, total + i);
    }
    for (; i < size; ++i) {
        for (std::size_t k = 0; k + 1 < chunks; ++k) total[i] += partials[k * size + i];
    }
}

}  // namespace nnfuse::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace nnfuse {

HWY_EXPORT(AddChunkPartials);

void add_chunk_partials(float* total, const float* partials, std::size_t size, std::size_t chunks) {
    if (chunks <= 1) return;
    HWY_DYNAMIC_DISPATCH(AddChunkPartials)(total, partials, size, chunks);
}

}  // namespace nnfuse
#endif  // HWY_ONCE
