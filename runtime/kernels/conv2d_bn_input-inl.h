// A Conv2D that applies the training-mode batch normalization (and its activation) before it while it reads its input,
// per SIMD target (Highway): the BN's output map is never stored; the convolution normalizes the input values as it
// copies them into its band of input rows, forward and in the kernel gradient.
//
// In the signatures below, bn stands for four pointers, batch_mean, inv_std, gamma, beta: the BN's constants
// (BnMergeChunkMoments's batch_mean and inv_std, gamma or nullptr when !Scale, beta or nullptr when !Center).
// Conv2dForwardBnInput<G, Filters, Act, UseBias, BnAct, Scale, Center>(x, bn, rows, kernel, bias, y)
// Conv2dForwardWithMomentsBnInput<G, Filters, Act, UseBias, BnAct, Scale, Center>(x, bn, rows, forward_kernel, bias,
//   y, moments)
// Conv2dBackwardBnInput<G, Filters, Act, UseBias, BnAct, Scale, Center>(x, bn, y, dy, rows, kernel, flipped_kernel,
//   dkernel, dbias, dx)
//   requires: x is the BN's input (its pre-normalization map, [rows, G.height, G.width, G.channels]); G.width *
//             G.channels <= kBnInputMaxRowFloats (bn_input_limits.hpp); otherwise as Conv2dForward,
//             Conv2dForwardWithMoments and Conv2dBackward (conv2d-inl.h, conv2d_bn_moments-inl.h).
//   ensures:  exactly (the same bits) what those kernels compute from v = BnAct((x - batch_mean) * inv_std * gamma +
//             beta), the array BnNormalizeChunk (bn_chunk_training-inl.h) would store, with x in place of it; the
//             padding is the normalized map's, zeros. dx is the gradient with respect to v (the BN's dy).
// Bit-identity holds because each value goes through bn_detail::NormalizeValue with the constants formed as
// bn_detail::ColumnNormalizer forms them. The per-channel constants, repeated over one input row so that a span
// starting inside a pixel reads them at its own offset with whole vectors, live on the stack (3 x width x channels
// floats); nothing is allocated on the heap. Include inside HWY_NAMESPACE machinery like any Highway -inl.h.

#if defined(NNFUSE_RUNTIME_KERNELS_CONV2D_BN_INPUT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_CONV2D_BN_INPUT_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_CONV2D_BN_INPUT_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_CONV2D_BN_INPUT_INL_H_
#endif

#include <algorithm>
#include <cstddef>

#include "dsl/activation.hpp"
#include "hwy/highway.h"
#include "runtime/kernels/bn_columns-inl.h"
#include "runtime/kernels/bn_input_limits.hpp"
#include "runtime/kernels/conv2d-inl.h"
#include "runtime/kernels/conv2d_bn_moments-inl.h"
#include "runtime/kernels/conv2d_windows-inl.h"
#include "runtime/kernels/window_geometry.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace conv_detail {

struct BnInput {
    const float* batch_mean;
    const float* inv_std;
    const float* gamma;
    const float* beta;
};

// The band copy that normalizes: PlainSpanCopy's call, each value inside the row v = NormalizeValue(x) with its
// channel's constants (the channel of row offset i is i % C: the constants are laid out per offset of a row).
template <window_geometry G, activation_kind BnAct, bool Scale, bool Center>
class NormalizingSpanCopy {
    static constexpr std::size_t kRowFloats = G.width * G.channels;
    static constexpr std::size_t kPadded = (kRowFloats + kLanes - 1) / kLanes * kLanes;
    static_assert(kRowFloats <= kBnInputMaxRowFloats, "Conv2D reading a BN: the input row is too wide");

public:
    explicit NormalizingSpanCopy(const BnInput& bn) {
        for (std::size_t c = 0; c < G.channels; ++c) {
            // The scale as ColumnNormalizer forms it: inv_std * gamma in float.
            const float scale = Scale ? bn.inv_std[c] * bn.gamma[c] : bn.inv_std[c];
            const float shift = Center ? bn.beta[c] : 0.0f;
            for (std::size_t i = c; i < kRowFloats; i += G.channels) {
                mean_[i] = bn.batch_mean[c];
                scale_[i] = scale;
                shift_[i] = shift;
            }
        }
        for (std::size_t i = kRowFloats; i < kPadded; ++i) mean_[i] = scale_[i] = shift_[i] = 0.0f;
    }

    HWY_INLINE void operator()(const float* HWY_RESTRICT row, ptrdiff_t first, std::size_t count, ptrdiff_t valid,
                               float* HWY_RESTRICT dst) const {
        CopyRowSpanWith(first, count, valid, dst, [this, row](std::size_t lo, std::size_t hi, float* HWY_RESTRICT out) {
            Normalize(row, lo, hi, out);
        });
    }

private:
    // out[i - begin] = v(row[i]) for i in [begin, end), within one row.
    HWY_INLINE void Normalize(const float* HWY_RESTRICT row, std::size_t begin, std::size_t end,
                              float* HWY_RESTRICT out) const {
        const FloatTag d;
        std::size_t i = begin;
        for (; i + kLanes <= end; i += kLanes) {
            hn::StoreU(At(d, hn::LoadU(d, row + i), i), d, out + (i - begin));
        }
        if (i < end) {  // the tail through a buffer, zeros past it (the bound kLanes keeps GCC's bounds check quiet)
            HWY_ALIGN float lanes[kLanes] = {};
            for (std::size_t j = 0; j < kLanes && i + j < end; ++j) lanes[j] = row[i + j];
            hn::Store(At(d, hn::Load(d, lanes), i), d, lanes);
            for (std::size_t j = 0; j < kLanes && i + j < end; ++j) out[i + j - begin] = lanes[j];
        }
    }
    HWY_INLINE hn::Vec<FloatTag> At(FloatTag d, hn::Vec<FloatTag> x, std::size_t i) const {
        return bn_detail::NormalizeValue<BnAct, Center>(d, x, hn::LoadU(d, mean_ + i), hn::LoadU(d, scale_ + i),
                                                        hn::LoadU(d, shift_ + i));
    }

    HWY_ALIGN float mean_[kPadded];
    HWY_ALIGN float scale_[kPadded];
    HWY_ALIGN float shift_[kPadded];
};

}  // namespace conv_detail

template <window_geometry G, std::size_t Filters, activation_kind Act, bool UseBias, activation_kind BnAct, bool Scale,
          bool Center>
void Conv2dForwardBnInput(const float* HWY_RESTRICT x, const float* HWY_RESTRICT batch_mean,
                          const float* HWY_RESTRICT inv_std, const float* HWY_RESTRICT gamma,
                          const float* HWY_RESTRICT beta, std::size_t rows, const float* HWY_RESTRICT kernel,
                          const float* HWY_RESTRICT bias, float* HWY_RESTRICT y) {
    conv_detail::CheckGeometry<G>();
    static_assert(Act != activation_kind::softmax && BnAct != activation_kind::softmax,
                  "Conv2dForwardBnInput: softmax is not element-wise");
    constexpr std::size_t kOutputFloats = conv_detail::kOutputPixels<G> * Filters;
    const conv_detail::NormalizingSpanCopy<G, BnAct, Scale, Center> copy({batch_mean, inv_std, gamma, beta});
    for (std::size_t r = 0; r < rows; ++r) {
        float* y_sample = y + r * kOutputFloats;
        conv_detail::ForwardSample<G, Filters, UseBias>(x + r * G.input_size(), kernel, bias, y_sample,
                                                        conv_detail::NoRowHook{}, copy);
        if constexpr (Act != activation_kind::linear) dense_detail::ActivateInPlace<Act>(y_sample, kOutputFloats);
    }
}

template <window_geometry G, std::size_t Filters, activation_kind Act, bool UseBias, activation_kind BnAct, bool Scale,
          bool Center>
void Conv2dForwardWithMomentsBnInput(const float* HWY_RESTRICT x, const float* HWY_RESTRICT batch_mean,
                                     const float* HWY_RESTRICT inv_std, const float* HWY_RESTRICT gamma,
                                     const float* HWY_RESTRICT beta, std::size_t rows,
                                     const float* HWY_RESTRICT forward_kernel, const float* HWY_RESTRICT bias,
                                     float* HWY_RESTRICT y, float* HWY_RESTRICT moments) {
    conv_detail::CheckGeometry<G>();
    static_assert(Act == activation_kind::linear, "Conv2dForwardWithMoments: the BN reads the linear convolution");
    conv_detail::ForwardWithMoments<G, Filters, UseBias>(
        x, rows, forward_kernel, bias, y, moments,
        conv_detail::NormalizingSpanCopy<G, BnAct, Scale, Center>({batch_mean, inv_std, gamma, beta}));
}

template <window_geometry G, std::size_t Filters, activation_kind Act, bool UseBias, activation_kind BnAct, bool Scale,
          bool Center>
void Conv2dBackwardBnInput(const float* HWY_RESTRICT x, const float* HWY_RESTRICT batch_mean,
                           const float* HWY_RESTRICT inv_std, const float* HWY_RESTRICT gamma,
                           const float* HWY_RESTRICT beta, [[maybe_unused]] const float* HWY_RESTRICT y,
                           float* HWY_RESTRICT dy, std::size_t rows, const float* HWY_RESTRICT kernel,
                           const float* HWY_RESTRICT flipped_kernel, float* HWY_RESTRICT dkernel,
                           [[maybe_unused]] float* HWY_RESTRICT dbias, float* HWY_RESTRICT dx) {
    conv_detail::CheckGeometry<G>();
    static_assert(Act != activation_kind::softmax, "Conv2dBackwardBnInput: softmax is not element-wise");
    conv_detail::KernelGradient<G, Filters, Act, UseBias>(
        x, y, dy, rows, dkernel, dbias,
        conv_detail::NormalizingSpanCopy<G, BnAct, Scale, Center>({batch_mean, inv_std, gamma, beta}));
    if (dx != nullptr) conv_detail::InputGradients<G, Filters>(dy, rows, kernel, flipped_kernel, dx);  // dy: dz now
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_CONV2D_BN_INPUT_INL_H_
