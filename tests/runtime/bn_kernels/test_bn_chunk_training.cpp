// BN's training passes over a batch cut into chunks (runtime/kernels/bn_chunk_training-inl.h with bn_chunked-inl.h's
// statistics) on every SIMD target: forward against the double reference with BnForwardTrain's tolerances, backward
// against the double reference given the same float statistics, chunks longer than a 128-row block (a feature map's
// values per sample), one chunk, many short ones, and no dx. Finite differences: test_bn_backward.cpp. Tolerances:
// bn_kernel_harness.hpp.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/runtime/bn_kernels/bn_kernel_harness.hpp"

namespace nnfuse::test {

namespace {

struct chunking {
    std::size_t rows, chunk_rows;
};
// One short chunk; whole and short chunks of 64; many of 5; chunks of 300 and 700 (several blocks each: the long
// chunk path, as a 28x28 map's 784 values per sample take); one long chunk; 63 values per sample in chunks of 2
// samples (a 7x9 map).
constexpr chunking chunkings[] = {{3, 64}, {257, 64}, {257, 5}, {1000, 300}, {1500, 700}, {700, 700}, {315, 126}};

}  // namespace

TEST_CASE("chunked BN forward matches the double reference", "[bn_kernels][chunked]") {
    for (std::size_t config = 0; config < bn_config_count; ++config) {
        for (const chunking shape : chunkings) {
            const bn_config& k = bn_configs[config];
            INFO(describe(k, shape.rows) << " in chunks of " << shape.chunk_rows);
            const bn_data data =
                make_data(shape.rows, k.features, static_cast<std::uint32_t>(shape.rows * 100 + config + 5));
            for_each_target([&] {
                check_forward_train(config, data, keras_epsilon,
                                    run_chunked(config, data, shape.chunk_rows, keras_epsilon).forward);
            });
        }
    }
}

TEST_CASE("chunked BN statistics keep their precision over a large offset", "[bn_kernels][chunked]") {
    for (const std::size_t config : {config_index(7), config_index(37, activation_kind::elu)}) {
        const bn_config& k = bn_configs[config];
        bn_data data = make_data(1500, k.features, 17);
        for (float& v : data.x) v += 1000.0f;
        INFO(describe(k, data.rows) << " offset 1000");
        const bn_moments_ref ref = moments_ref(data.x, data.rows, k.features);
        std::vector<double> mean_scale(k.features);
        for (std::size_t c = 0; c < k.features; ++c) mean_scale[c] = std::abs(ref.mean[c]) + std::sqrt(ref.var[c]);
        for_each_target([&] {
            for (const std::size_t chunk_rows : {64, 300, 1500}) {
                INFO("chunks of " << chunk_rows);
                const train_result got = run_chunked(config, data, chunk_rows, keras_epsilon).forward;
                check_close("batch_mean", got.mean, ref.mean, mean_scale, mean_tolerance);
                check_close("batch_var", got.var, ref.var, abs_of(ref.var), statistic_tolerance);
            }
        });
    }
}

TEST_CASE("chunked BN backward matches the double reference given its statistics", "[bn_kernels][chunked]") {
    for (std::size_t config = 0; config < bn_config_count; ++config) {
        for (const chunking shape : chunkings) {
            const bn_config& k = bn_configs[config];
            INFO(describe(k, shape.rows) << " in chunks of " << shape.chunk_rows);
            const bn_data data =
                make_data(shape.rows, k.features, static_cast<std::uint32_t>(shape.rows * 100 + config + 6));
            for_each_target([&] {
                const chunked_result got = run_chunked(config, data, shape.chunk_rows, keras_epsilon);
                const bn_backward_ref ref = backward_expected(config, data, got.forward);
                if (k.scale)
                    check_close("dgamma", got.backward.dgamma, ref.dgamma, ref.dgamma_scale, gradient_tolerance);
                if (k.center) check_close("dbeta", got.backward.dbeta, ref.dbeta, ref.dbeta_scale, gradient_tolerance);
                check_close("dx", got.backward.dx, ref.dx, ref.dx_scale, gradient_tolerance);
            });
        }
    }
}

TEST_CASE("chunked BN without dx: the same parameter gradients", "[bn_kernels][chunked]") {
    const std::size_t config = config_index(37, activation_kind::elu);
    const bn_data data = make_data(1000, 37, 23);
    for_each_target([&] {
        const chunked_result with_dx = run_chunked(config, data, 300, keras_epsilon);
        const chunked_result without = run_chunked(config, data, 300, keras_epsilon, /*with_dx=*/false);
        CHECK(without.backward.dgamma == with_dx.backward.dgamma);
        CHECK(without.backward.dbeta == with_dx.backward.dbeta);
    });
}

}  // namespace nnfuse::test
