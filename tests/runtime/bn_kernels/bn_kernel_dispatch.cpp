// The batch-normalization kernels instantiated for every bn_configs entry on every SIMD target compiled into this
// translation unit (Highway's foreach_target), behind the plain functions of bn_kernel_harness.hpp (namespace
// dispatch) that the kernel tests call.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/runtime/bn_kernels/bn_kernel_dispatch.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>

#include "hwy/highway.h"
#include "runtime/kernels/batch_norm-inl.h"
#include "runtime/kernels/bn_chunk_training-inl.h"
#include "runtime/kernels/bn_chunked.hpp"
#include "tests/runtime/bn_kernels/bn_configs.hpp"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::test::HWY_NAMESPACE {

namespace kernels = nnfuse::kernels::HWY_NAMESPACE;

template <std::size_t I>
void ForwardTrainAt(const float* x, std::size_t rows, float epsilon, const float* gamma, const float* beta,
                    float* batch_mean, float* batch_var, float* inv_std, float* y) {
    constexpr bn_config k = bn_configs[I];
    kernels::BnForwardTrain<k.features, k.act, k.scale, k.center>(x, rows, epsilon, gamma, beta, batch_mean, batch_var,
                                                                  inv_std, y);
}

template <std::size_t I>
void ForwardInferAt(const float* x, std::size_t rows, float epsilon, const float* gamma, const float* beta,
                    const float* moving_mean, const float* moving_var, float* y) {
    constexpr bn_config k = bn_configs[I];
    kernels::BnForwardInfer<k.features, k.act, k.scale, k.center>(x, rows, epsilon, gamma, beta, moving_mean,
                                                                  moving_var, y);
}

template <std::size_t I>
void BackwardAt(const float* x, const float* y, const float* dy, std::size_t rows, const float* gamma,
                const float* batch_mean, const float* inv_std, float* dgamma, float* dbeta, float* dx, float* scratch) {
    constexpr bn_config k = bn_configs[I];
    kernels::BnBackward<k.features, k.act, k.scale, k.center>(x, y, dy, rows, gamma, batch_mean, inv_std, dgamma, dbeta,
                                                              dx, scratch);
}

// One training step of a BN layer as the generated code runs it per chunk (bn_chunk_training-inl.h): the chunks'
// records into `records` (2 * chunks records), the element-wise passes over the chunks last first (no order may
// matter).
template <std::size_t I>
void ChunkedTrainAt(const float* x, const float* dy, std::size_t rows, std::size_t chunk_rows, float epsilon,
                    const float* gamma, const float* beta, float* records, float* batch_mean, float* batch_var,
                    float* inv_std, float* y, float* dgamma, float* dbeta, float* dx, float* coefficients) {
    constexpr bn_config k = bn_configs[I];
    constexpr std::size_t c = k.features, record = nnfuse::kernels::bn_chunk_moments_floats(c);
    const std::size_t chunks = (rows + chunk_rows - 1) / chunk_rows;
    float* gradient_sums = records + chunks * record;
    const auto count = [&](std::size_t chunk) { return std::min(chunk_rows, rows - chunk * chunk_rows); };
    for (std::size_t chunk = 0; chunk < chunks; ++chunk)
        kernels::BnChunkMoments<c>(x + chunk * chunk_rows * c, count(chunk), records + chunk * record);
    kernels::BnMergeChunkMoments<c>(records, rows, chunk_rows, epsilon, batch_mean, batch_var, inv_std);
    for (std::size_t chunk = chunks; chunk-- > 0;) {
        const std::size_t at = chunk * chunk_rows * c;
        kernels::BnNormalizeChunk<c, k.act, k.scale, k.center>(x + at, count(chunk), batch_mean, inv_std, gamma, beta,
                                                               y + at);
    }
    for (std::size_t chunk = chunks; chunk-- > 0;) {
        const std::size_t at = chunk * chunk_rows * c;
        kernels::BnChunkGradientSums<c, k.act>(x + at, y + at, dy + at, count(chunk), batch_mean,
                                               gradient_sums + chunk * record);
    }
    kernels::BnMergeChunkGradients<c, k.scale, k.center>(gradient_sums, chunks, rows, gamma, inv_std, dgamma, dbeta,
                                                         dx == nullptr ? nullptr : coefficients);
    if (dx == nullptr) return;
    for (std::size_t chunk = 0; chunk < chunks; ++chunk) {
        const std::size_t at = chunk * chunk_rows * c;
        kernels::BnChunkInputGradient<c, k.act, k.scale>(x + at, y + at, dy + at, count(chunk), gamma, batch_mean,
                                                         inv_std, coefficients, dx + at);
    }
}

template <std::size_t... I>
constexpr auto ChunkedTrainTable(std::index_sequence<I...>) {
    return std::array{&ChunkedTrainAt<I>...};
}
template <std::size_t... I>
constexpr auto ForwardTrainTable(std::index_sequence<I...>) {
    return std::array{&ForwardTrainAt<I>...};
}
template <std::size_t... I>
constexpr auto ForwardInferTable(std::index_sequence<I...>) {
    return std::array{&ForwardInferAt<I>...};
}
template <std::size_t... I>
constexpr auto BackwardTable(std::index_sequence<I...>) {
    return std::array{&BackwardAt<I>...};
}

// One exported entry point per kernel; `config` indexes bn_configs.
void ForwardTrainConfig(std::size_t config, const float* x, std::size_t rows, float epsilon, const float* gamma,
                        const float* beta, float* batch_mean, float* batch_var, float* inv_std, float* y) {
    static constexpr auto table = ForwardTrainTable(std::make_index_sequence<bn_config_count>());
    table[config](x, rows, epsilon, gamma, beta, batch_mean, batch_var, inv_std, y);
}

void ForwardInferConfig(std::size_t config, const float* x, std::size_t rows, float epsilon, const float* gamma,
                        const float* beta, const float* moving_mean, const float* moving_var, float* y) {
    static constexpr auto table = ForwardInferTable(std::make_index_sequence<bn_config_count>());
    table[config](x, rows, epsilon, gamma, beta, moving_mean, moving_var, y);
}

void BackwardConfig(std::size_t config, const float* x, const float* y, const float* dy, std::size_t rows,
                    const float* gamma, const float* batch_mean, const float* inv_std, float* dgamma, float* dbeta,
                    float* dx, float* scratch) {
    static constexpr auto table = BackwardTable(std::make_index_sequence<bn_config_count>());
    table[config](x, y, dy, rows, gamma, batch_mean, inv_std, dgamma, dbeta, dx, scratch);
}

void ChunkedTrainConfig(std::size_t config, const float* x, const float* dy, std::size_t rows, std::size_t chunk_rows,
                        float epsilon, const float* gamma, const float* beta, float* records, float* batch_mean,
                        float* batch_var, float* inv_std, float* y, float* dgamma, float* dbeta, float* dx,
                        float* coefficients) {
    static constexpr auto table = ChunkedTrainTable(std::make_index_sequence<bn_config_count>());
    table[config](x, dy, rows, chunk_rows, epsilon, gamma, beta, records, batch_mean, batch_var, inv_std, y, dgamma,
                  dbeta, dx, coefficients);
}

// Which target a dispatched call reached (Highway 1.0.3 has no hwy::DispatchedTarget).
std::int64_t CompiledTarget() { return HWY_TARGET; }

}  // namespace nnfuse::test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "tests/runtime/bn_kernels/bn_kernel_harness.hpp"

namespace nnfuse::test {

HWY_EXPORT(ForwardTrainConfig);
HWY_EXPORT(ForwardInferConfig);
HWY_EXPORT(BackwardConfig);
HWY_EXPORT(ChunkedTrainConfig);
HWY_EXPORT(CompiledTarget);

namespace dispatch {

void ForwardTrainConfig(std::size_t config, const float* x, std::size_t rows, float epsilon, const float* gamma,
                        const float* beta, float* batch_mean, float* batch_var, float* inv_std, float* y) {
    HWY_DYNAMIC_DISPATCH(ForwardTrainConfig)(config, x, rows, epsilon, gamma, beta, batch_mean, batch_var, inv_std, y);
}

void ForwardInferConfig(std::size_t config, const float* x, std::size_t rows, float epsilon, const float* gamma,
                        const float* beta, const float* moving_mean, const float* moving_var, float* y) {
    HWY_DYNAMIC_DISPATCH(ForwardInferConfig)(config, x, rows, epsilon, gamma, beta, moving_mean, moving_var, y);
}

void BackwardConfig(std::size_t config, const float* x, const float* y, const float* dy, std::size_t rows,
                    const float* gamma, const float* batch_mean, const float* inv_std, float* dgamma, float* dbeta,
                    float* dx, float* scratch) {
    HWY_DYNAMIC_DISPATCH(BackwardConfig)
    (config, x, y, dy, rows, gamma, batch_mean, inv_std, dgamma, dbeta, dx, scratch);
}

void ChunkedTrainConfig(std::size_t config, const float* x, const float* dy, std::size_t rows, std::size_t chunk_rows,
                        float epsilon, const float* gamma, const float* beta, float* records, float* batch_mean,
                        float* batch_var, float* inv_std, float* y, float* dgamma, float* dbeta, float* dx,
                        float* coefficients) {
    HWY_DYNAMIC_DISPATCH(ChunkedTrainConfig)
    (config, x, dy, rows, chunk_rows, epsilon, gamma, beta, records, batch_mean, batch_var, inv_std, y, dgamma, dbeta,
     dx, coefficients);
}

std::int64_t CompiledTarget() { return HWY_DYNAMIC_DISPATCH(CompiledTarget)(); }

}  // namespace dispatch
}  // namespace nnfuse::test
#endif  // HWY_ONCE
