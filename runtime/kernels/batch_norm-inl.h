// Batch normalization over the last axis, fused with an element-wise activation: the SIMD building
// blocks (Highway, per target) that the generated code instantiates with the model's shapes.
//
// x, y, dy, dx are row-major [rows, C] float32; per-feature arrays hold C floats. C is a compile-time
// constant, rows a run-time value; m = rows. Act is element-wise (not softmax). Scale = false means
// gamma is nullptr and 1; Center = false means beta is nullptr and 0. Semantics: docs/design.md, "Batch
// normalization semantics".
//
// BnForwardTrain  requires rows >= 2 (the caller checks and throws).
//   ensures batch_mean = mean(x), batch_var = mean((x - mean)^2) (biased), inv_std = 1/sqrt(var + epsilon),
//           y = Act(gamma * (x - mean) * inv_std + beta).
// BnForwardInfer  requires rows >= 1.
//   ensures y = Act(x * s + t), s = gamma / sqrt(moving_var + epsilon), t = beta - moving_mean * s.
// BnBackward      requires the forward's x, batch_mean, inv_std; y = its output (may be nullptr when Act is
//                 linear); dy = dL/dy of the output y; scratch = 2*C floats; dgamma non-null iff Scale,
//                 dbeta non-null iff Center.
//   ensures dz = dy * Act'(y), dbeta = sum(dz), dgamma = sum(dz * xhat) with xhat = (x - mean) * inv_std,
//           dx = gamma * inv_std / m * (m * dz - dbeta - xhat * dgamma) unless dx == nullptr (BN is the
//           first layer: no dx pass at all, and scratch is not touched); otherwise scratch holds the dx
//           pass's two per-feature coefficients.
//
// Precision: statistics and gradient sums are accumulated per SIMD lane in float over a block of kBlockRows rows,
// then merged in double (bn_moments-inl.h): the float error is bounded by one block, not by rows. A batch of one
// block is finished in float (its sums are float anyway).
//
// Memory passes: training forward = statistics + normalize; backward = reductions + dx; inference = one pass.
// Vectors run across features (a row is contiguous) and the loops go rows -> vector column -> rows of the step,
// so per-feature constants and accumulators stay in registers. A batch of one block, or of a few blocks whose
// columns stay in L1, does both passes column by column: the second reads the column from L1. Larger batches make
// whole passes, the second last step first and streaming large outputs (bn_traversal-inl.h). A partial last
// column uses masked or copied loads and stores that never touch memory past the layer (simd_columns-inl.h). No
// heap allocation: per-feature double accumulators live on the stack, panel by panel.
//
// Layout: bn_traversal-inl.h (blocks, panels, steps), bn_moments-inl.h (statistics), bn_columns-inl.h (per-column
// operations); this file: the passes of one panel and the entry points.
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_BATCH_NORM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_BATCH_NORM_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_BATCH_NORM_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_BATCH_NORM_INL_H_
#endif

#include <algorithm>
#include <cstddef>
#include <utility>

#include "dsl/activation.hpp"
#include "hwy/highway.h"
#include "runtime/kernels/activation-inl.h"
#include "runtime/kernels/bn_columns-inl.h"
#include "runtime/kernels/bn_moments-inl.h"
#include "runtime/kernels/bn_traversal-inl.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace bn_detail {

template <std::size_t C, std::size_t kFirst, activation_kind Act, bool Scale, bool Center>
HWY_INLINE void ForwardTrainPanel(const float* x, std::size_t rows, float epsilon, const float* gamma,
                                  const float* beta, float* batch_mean, float* batch_var, float* inv_std, float* y) {
    constexpr std::size_t kWidth = FeaturePanel<C, kFirst>::kWidth;
    const DF d;

    // One block: float all the way, and each column normalized right after its statistics, while it is in L1.
    if (rows <= kBlockRows) {
        ForEachVector(d, kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
            constexpr bool kPartial = decltype(partial)::value;
            const std::size_t f = kFirst + j;
            hn::Vec<DF> center, sum_dev, sum_sq_dev;
            ColumnBlockMoments<kPartial>(x + f, C, rows, count, center, sum_dev, sum_sq_dev);
            FinishColumnMoments<kPartial>(center, sum_dev, sum_sq_dev, rows, epsilon, count, batch_mean + f,
                                          batch_var + f, inv_std + f);
            NormalizeColumnBlock<kPartial, Act, Scale, Center>(x + f, y + f, C, rows, count, batch_mean + f,
                                                               inv_std + f, At(gamma, f), At(beta, f));
        });
        return;
    }
    // A few blocks whose columns stay in L1: the same, each column's blocks merged in double as the panel's are.
    if (rows <= kColumnRows && kColumnsSpreadOverL1<C>) {
        RunningMoments<FeaturePanel<C, kFirst>::kPadded> moments;
        const double inv_rows = 1.0 / static_cast<double>(rows);
        ForEachVector(d, kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
            constexpr bool kPartial = decltype(partial)::value;
            const std::size_t f = kFirst + j;
            for (std::size_t r0 = 0; r0 < rows; r0 += kBlockRows) {
                const std::size_t block_rows = std::min(kBlockRows, rows - r0);
                hn::Vec<DF> center, sum_dev, sum_sq_dev;
                ColumnBlockMoments<kPartial>(x + r0 * C + f, C, block_rows, count, center, sum_dev, sum_sq_dev);
                StoreColumnMoments(center, sum_dev, sum_sq_dev, moments.center + j, moments.sum_dev + j,
                                   moments.sum_sq_dev + j);
                moments.MergeColumn(j, r0, block_rows);
            }
            ForEachVector(DD(), count, [&](auto partial_doubles, std::size_t k, std::size_t doubles) HWY_ATTR {
                FinishMoments<decltype(partial_doubles)::value>(moments, j + k, doubles, inv_rows, epsilon,
                                                                batch_mean + f + k, batch_var + f + k, inv_std + f + k);
            });
            NormalizeColumnBlock<kPartial, Act, Scale, Center>(x + f, y + f, C, rows, count, batch_mean + f,
                                                               inv_std + f, At(gamma, f), At(beta, f));
        });
        return;
    }

    // Statistics pass.
    PanelMomentsOverBlocks<C, kFirst>(x, rows, epsilon, batch_mean, batch_var, inv_std);

    // Normalize pass.
    OutputPassLastStepFirst<C, kFirst, kWidth>(
        rows, y,
        [&](auto stream, auto partial, std::size_t j, std::size_t at, std::size_t step_rows, std::size_t count)
            HWY_ATTR {
                const std::size_t f = kFirst + j;
                NormalizeColumnBlock<decltype(partial)::value, Act, Scale, Center, decltype(stream)::value>(
                    x + at, y + at, C, step_rows, count, batch_mean + f, inv_std + f, At(gamma, f), At(beta, f));
            });
}

// Parameter gradients and dx coefficients of a panel over several blocks: float block sums merged in
// double, finished per feature.
template <std::size_t C, std::size_t kFirst, activation_kind Act, bool Scale, bool Center>
HWY_NOINLINE void PanelGradientsOverBlocks(const float* x, const float* y, const float* dy, std::size_t rows,
                                           const float* gamma, const float* batch_mean, const float* inv_std,
                                           float* dgamma, float* dbeta, float* dev_coef, float* const_coef) {
    using Panel = FeaturePanel<C, kFirst>;
    const DF d;
    const std::size_t columns_end = (Panel::kWidth + hn::Lanes(d) - 1) / hn::Lanes(d) * hn::Lanes(d);
    GradientSums<Panel::kPadded> sums;
    for (std::size_t r0 = 0; r0 < rows; r0 += kBlockRows) {
        const std::size_t block_end = std::min(r0 + kBlockRows, rows);
        for (std::size_t j = 0; j < columns_end; j += hn::Lanes(d)) {
            hn::Store(hn::Zero(d), d, sums.block_dz + j);
            hn::Store(hn::Zero(d), d, sums.block_dz_dev + j);
        }
        for (std::size_t s0 = r0; s0 < block_end; s0 += kStreamRows) {
            const std::size_t step_rows = std::min(kStreamRows, block_end - s0);
            ForEachVector(d, Panel::kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
                const std::size_t at = s0 * C + kFirst + j;
                hn::Vec<DF> sum_dz, sum_dz_dev;
                ColumnBlockGradientSums<decltype(partial)::value, Act>(x + at, At(y, at), dy + at, C, step_rows, count,
                                                                       batch_mean + kFirst + j, sum_dz, sum_dz_dev);
                hn::Store(hn::Add(hn::Load(d, sums.block_dz + j), sum_dz), d, sums.block_dz + j);
                hn::Store(hn::Add(hn::Load(d, sums.block_dz_dev + j), sum_dz_dev), d, sums.block_dz_dev + j);
            });
        }
        sums.MergeBlock(columns_end);
    }
    ForEachVector(DD(), Panel::kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
        const std::size_t f = kFirst + j;
        FinishGradients<decltype(partial)::value, Scale, Center>(sums, j, count, static_cast<double>(rows),
                                                                 At(gamma, f), inv_std + f, At(dgamma, f), At(dbeta, f),
                                                                 At(dev_coef, j), At(const_coef, j));
    });
}

template <std::size_t C, std::size_t kFirst, activation_kind Act, bool Scale, bool Center>
HWY_INLINE void BackwardPanel(const float* x, const float* y, const float* dy, std::size_t rows, const float* gamma,
                              const float* batch_mean, const float* inv_std, float* dgamma, float* dbeta, float* dx,
                              float* scratch) {
    constexpr std::size_t kWidth = FeaturePanel<C, kFirst>::kWidth;
    const DF d;
    if constexpr (Act == activation_kind::linear) y = nullptr;  // Act'(y) = 1: y is not read
    // The dx coefficients go to scratch: dev_coef[C], then const_coef[C].
    float* dev_coef = dx == nullptr ? nullptr : scratch + kFirst;
    float* const_coef = dx == nullptr ? nullptr : scratch + C + kFirst;

    // One block: float all the way, and each column's dx right after its sums, while x and dy are in L1.
    if (rows <= kBlockRows) {
        ForEachVector(d, kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
            constexpr bool kPartial = decltype(partial)::value;
            const std::size_t f = kFirst + j;
            hn::Vec<DF> sum_dz, sum_dz_dev;
            ColumnBlockGradientSums<kPartial, Act>(x + f, At(y, f), dy + f, C, rows, count, batch_mean + f, sum_dz,
                                                   sum_dz_dev);
            FinishColumnGradients<kPartial, Scale, Center>(sum_dz, sum_dz_dev, rows, count, At(gamma, f), inv_std + f,
                                                           At(dgamma, f), At(dbeta, f), At(dev_coef, j),
                                                           At(const_coef, j));
            if (dx == nullptr) return;
            InputGradientColumnBlock<kPartial, Act, Scale>(x + f, At(y, f), dy + f, dx + f, C, rows, count,
                                                           batch_mean + f, inv_std + f, At(gamma, f), dev_coef + j,
                                                           const_coef + j);
        });
        return;
    }

    // A few blocks whose columns stay in L1: the same, each column's block sums added in double as the panel's
    // are, and its dx made last block first (the rows its sums read last).
    if (rows <= kColumnRows && kColumnsSpreadOverL1<C>) {
        GradientSums<FeaturePanel<C, kFirst>::kPadded> sums;
        ForEachVector(d, kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
            constexpr bool kPartial = decltype(partial)::value;
            const std::size_t f = kFirst + j;
            for (std::size_t r0 = 0; r0 < rows; r0 += kBlockRows) {
                const std::size_t block_rows = std::min(kBlockRows, rows - r0);
                const std::size_t at = r0 * C + f;
                hn::Vec<DF> sum_dz, sum_dz_dev;
                ColumnBlockGradientSums<kPartial, Act>(x + at, At(y, at), dy + at, C, block_rows, count, batch_mean + f,
                                                       sum_dz, sum_dz_dev);
                hn::Store(sum_dz, d, sums.block_dz + j);
                hn::Store(sum_dz_dev, d, sums.block_dz_dev + j);
                sums.MergeBlock(j + hn::Lanes(d), j);
            }
            ForEachVector(DD(), count, [&](auto partial_doubles, std::size_t k, std::size_t doubles) HWY_ATTR {
                FinishGradients<decltype(partial_doubles)::value, Scale, Center>(
                    sums, j + k, doubles, static_cast<double>(rows), At(gamma, f + k), inv_std + f + k,
                    At(dgamma, f + k), At(dbeta, f + k), At(dev_coef, j + k), At(const_coef, j + k));
            });
            if (dx == nullptr) return;
            for (std::size_t block = (rows + kBlockRows - 1) / kBlockRows; block-- > 0;) {
                const std::size_t r0 = block * kBlockRows;
                const std::size_t at = r0 * C + f;
                InputGradientColumnBlock<kPartial, Act, Scale>(x + at, At(y, at), dy + at, dx + at, C,
                                                               std::min(kBlockRows, rows - r0), count, batch_mean + f,
                                                               inv_std + f, At(gamma, f), dev_coef + j, const_coef + j);
            }
        });
        return;
    }

    // Reductions pass.
    PanelGradientsOverBlocks<C, kFirst, Act, Scale, Center>(x, y, dy, rows, gamma, batch_mean, inv_std, dgamma, dbeta,
                                                            dev_coef, const_coef);
    if (dx == nullptr) return;

    // dx pass.
    OutputPassLastStepFirst<C, kFirst, kWidth>(
        rows, dx,
        [&](auto stream, auto partial, std::size_t j, std::size_t at, std::size_t step_rows, std::size_t count)
            HWY_ATTR {
                const std::size_t f = kFirst + j;
                InputGradientColumnBlock<decltype(partial)::value, Act, Scale, decltype(stream)::value>(
                    x + at, At(y, at), dy + at, dx + at, C, step_rows, count, batch_mean + f, inv_std + f, At(gamma, f),
                    dev_coef + j, const_coef + j);
            });
}

template <std::size_t C, activation_kind Act, bool Scale, bool Center, std::size_t... kPanel>
HWY_INLINE void ForwardTrainPanels(std::index_sequence<kPanel...>, const float* x, std::size_t rows, float epsilon,
                                   const float* gamma, const float* beta, float* batch_mean, float* batch_var,
                                   float* inv_std, float* y) {
    (ForwardTrainPanel<C, kPanel * kPanelFeatures, Act, Scale, Center>(x, rows, epsilon, gamma, beta, batch_mean,
                                                                       batch_var, inv_std, y),
     ...);
}

template <std::size_t C, activation_kind Act, bool Scale, bool Center, std::size_t... kPanel>
HWY_INLINE void BackwardPanels(std::index_sequence<kPanel...>, const float* x, const float* y, const float* dy,
                               std::size_t rows, const float* gamma, const float* batch_mean, const float* inv_std,
                               float* dgamma, float* dbeta, float* dx, float* scratch) {
    (BackwardPanel<C, kPanel * kPanelFeatures, Act, Scale, Center>(x, y, dy, rows, gamma, batch_mean, inv_std, dgamma,
                                                                   dbeta, dx, scratch),
     ...);
}

// Inference over a panel: s and t once per call, then the rows.
template <std::size_t C, std::size_t kFirst, activation_kind Act, bool Scale, bool Center>
HWY_INLINE void InferPanel(const float* x, std::size_t rows, float epsilon, const float* gamma, const float* beta,
                           const float* moving_mean, const float* moving_var, float* y) {
    using Panel = FeaturePanel<C, kFirst>;
    const DF d;
    HWY_ALIGN float s[Panel::kPadded];
    HWY_ALIGN float t[Panel::kPadded];
    ForEachVector(d, Panel::kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
        const std::size_t f = kFirst + j;
        InferenceAffine<decltype(partial)::value, Scale, Center>(count, epsilon, At(gamma, f), At(beta, f),
                                                                 moving_mean + f, moving_var + f, s + j, t + j);
    });
    const std::size_t step_rows = kInferRowByRow<C> ? 1 : StepRows(rows);
    WithStreaming(StreamsOutput<C>(y, rows), [&](auto stream) HWY_ATTR {
        for (std::size_t r0 = 0; r0 < rows; r0 += step_rows) {
            const std::size_t block_rows = std::min(step_rows, rows - r0);
            ForEachVector(d, Panel::kWidth, [&](auto partial, std::size_t j, std::size_t count) HWY_ATTR {
                const std::size_t at = r0 * C + kFirst + j;
                InferColumnBlock<decltype(partial)::value, Act, decltype(stream)::value>(x + at, y + at, C, block_rows,
                                                                                         count, s + j, t + j);
            });
        }
    });
}

template <std::size_t C, activation_kind Act, bool Scale, bool Center, std::size_t... kPanel>
HWY_INLINE void InferPanels(std::index_sequence<kPanel...>, const float* x, std::size_t rows, float epsilon,
                            const float* gamma, const float* beta, const float* moving_mean, const float* moving_var,
                            float* y) {
    (InferPanel<C, kPanel * kPanelFeatures, Act, Scale, Center>(x, rows, epsilon, gamma, beta, moving_mean, moving_var,
                                                                y),
     ...);
}

}  // namespace bn_detail

// ---------------------------------------------------------------- the building blocks

template <std::size_t C, activation_kind Act, bool Scale, bool Center>
void BnForwardTrain(const float* x, std::size_t rows, float epsilon, const float* gamma, const float* beta,
                    float* batch_mean, float* batch_var, float* inv_std, float* y) {
    static_assert(C > 0, "batch normalization needs at least one feature");
    static_assert(Act != activation_kind::softmax, "softmax is not element-wise: fuse it with the loss");
    bn_detail::ForwardTrainPanels<C, Act, Scale, Center>(std::make_index_sequence<bn_detail::PanelCount(C)>(), x, rows,
                                                         epsilon, gamma, beta, batch_mean, batch_var, inv_std, y);
}

template <std::size_t C, activation_kind Act, bool Scale, bool Center>
void BnForwardInfer(const float* x, std::size_t rows, float epsilon, const float* gamma, const float* beta,
                    const float* moving_mean, const float* moving_var, float* y) {
    static_assert(C > 0, "batch normalization needs at least one feature");
    static_assert(Act != activation_kind::softmax, "softmax is not element-wise: fuse it with the loss");
    bn_detail::InferPanels<C, Act, Scale, Center>(std::make_index_sequence<bn_detail::PanelCount(C)>(), x, rows,
                                                  epsilon, gamma, beta, moving_mean, moving_var, y);
}

template <std::size_t C, activation_kind Act, bool Scale, bool Center>
void BnBackward(const float* x, const float* y, const float* dy, std::size_t rows, const float* gamma,
                const float* batch_mean, const float* inv_std, float* dgamma, float* dbeta, float* dx, float* scratch) {
    static_assert(C > 0, "batch normalization needs at least one feature");
    static_assert(Act != activation_kind::softmax, "softmax is not element-wise: fuse it with the loss");
    bn_detail::BackwardPanels<C, Act, Scale, Center>(std::make_index_sequence<bn_detail::PanelCount(C)>(), x, y, dy,
                                                     rows, gamma, batch_mean, inv_std, dgamma, dbeta, dx, scratch);
}

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_BATCH_NORM_INL_H_
