// A MaxPooling2D that applies the training-mode batch normalization (and its activation) before it while it reads its
// input, per SIMD target (Highway): the BN's output map is never stored; the pool normalizes each value it compares.
//
// In the signatures below, bn stands for four pointers, batch_mean, inv_std, gamma, beta: the BN's constants
// (BnMergeChunkMoments's batch_mean and inv_std, gamma or nullptr when !Scale, beta or nullptr when !Center).
// MaxPool2dForwardBnInput<G, BnAct, Scale, Center>(x, bn, rows, y)
// MaxPool2dBackwardBnInput<G, BnAct, Scale, Center>(x, bn, y, dy, rows, dx)
//   requires: x is the BN's input (its pre-normalization map, [rows, G.height, G.width, G.channels]), the BN's
//             features are G.channels; otherwise as MaxPool2dForward and MaxPool2dBackward (pooling-inl.h).
//   ensures:  exactly (the same bits) what those kernels compute from v = BnAct((x - batch_mean) * inv_std * gamma +
//             beta), the array BnNormalizeChunk (bn_chunk_training-inl.h) would store, with x in place of it: y the
//             max of each window of v; dx the gradient with respect to v (the BN's dy), each dy routed to the window's
//             first position whose v equals y.
// Bit-identity holds because each value goes through bn_detail::NormalizeValue with the constants formed as
// bn_detail::ColumnNormalizer forms them (as conv2d_bn_input-inl.h's band copy does). The per-channel constants live
// on the stack (3 x channels floats, rounded up to whole vectors); nothing is allocated on the heap.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_POOLING_BN_INPUT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_POOLING_BN_INPUT_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_POOLING_BN_INPUT_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_POOLING_BN_INPUT_INL_H_
#endif

#include <cstddef>

#include "dsl/activation.hpp"
#include "hwy/highway.h"
#include "runtime/kernels/bn_columns-inl.h"
#include "runtime/kernels/pooling-inl.h"
#include "runtime/kernels/window_geometry.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace pooling_detail {

// pooling-inl.h's value loader for a BN's input: v = NormalizeValue(x) with the channel's constants.
template <std::size_t Channels, activation_kind BnAct, bool Scale, bool Center>
class NormalizedValues {
    static constexpr std::size_t kPadded = (Channels + kLanes - 1) / kLanes * kLanes;

public:
    NormalizedValues(const float* batch_mean, const float* inv_std, const float* gamma, const float* beta) {
        for (std::size_t c = 0; c < Channels; ++c) {
            mean_[c] = batch_mean[c];
            scale_[c] = Scale ? inv_std[c] * gamma[c] : inv_std[c];  // as ColumnNormalizer forms it, in float
            shift_[c] = Center ? beta[c] : 0.0f;
        }
        for (std::size_t c = Channels; c < kPadded; ++c) mean_[c] = scale_[c] = shift_[c] = 0.0f;
    }

    HWY_INLINE hn::Vec<FloatTag> operator()(FloatTag d, const float* HWY_RESTRICT sample, std::size_t offset,
                                            std::size_t c, std::size_t count) const {
        return bn_detail::NormalizeValue<BnAct, Center>(d, LoadFirstN(d, sample + offset, count),
                                                        hn::LoadU(d, mean_ + c), hn::LoadU(d, scale_ + c),
                                                        hn::LoadU(d, shift_ + c));
    }

private:
    HWY_ALIGN float mean_[kPadded];
    HWY_ALIGN float scale_[kPadded];
    HWY_ALIGN float shift_[kPadded];
};

}  // namespace pooling_detail

template <window_geometry G, activation_kind BnAct, bool Scale, bool Center>
void MaxPool2dForwardBnInput(const float* x, const float* batch_mean, const float* inv_std, const float* gamma,
                             const float* beta, std::size_t rows, float* y) {
    const pooling_detail::NormalizedValues<G.channels, BnAct, Scale, Center> values(batch_mean, inv_std, gamma, beta);
    pooling_detail::MaxPoolForward<G>(x, rows, y, values);
}

template <window_geometry G, activation_kind BnAct, bool Scale, bool Center>
void MaxPool2dBackwardBnInput(const float* x, const float* batch_mean, const float* inv_std, const float* gamma,
                              const float* beta, const float* y, const float* dy, std::size_t rows, float* dx) {
    const pooling_detail::NormalizedValues<G.channels, BnAct, Scale, Center> values(batch_mean, inv_std, gamma, beta);
    pooling_detail::MaxPoolBackward<G>(x, y, dy, rows, dx, values);
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_POOLING_BN_INPUT_INL_H_
