// The batch-normalization kernels whose output is large enough to be written with non-temporal stores
// (streaming_output.hpp), at an aligned and an unaligned output, on every SIMD target.

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <limits>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "hwy/aligned_allocator.h"
#include "runtime/kernels/streaming_output.hpp"
#include "tests/runtime/bn_kernels/bn_kernel_harness.hpp"

namespace nnfuse::test {

TEST_CASE("bn kernels whose output is large enough to stream match the double reference", "[bn_kernels]") {
    // An output of bn_streaming_output_bytes or more goes out with non-temporal stores when every row's vectors are
    // aligned (C = 784 is a whole number of vectors on every target): at an aligned address it streams, one float
    // further on it does not (except on the one-lane scalar target, where every float is a whole vector). Both must
    // write every value.
    const std::size_t config = config_index(784, activation_kind::elu);
    const bn_config& k = bn_configs[config];
    const std::size_t rows = nnfuse::kernels::bn_streaming_output_bytes / (k.features * sizeof(float)) + 37;
    INFO(describe(k, rows));
    const bn_data data = make_data(rows, k.features, 13);
    const bn_train_ref forward_ref =
        forward_train_ref(data.x, rows, k.features, keras_epsilon, gamma_of(data, k), beta_of(data, k), k.act);
    const std::vector<double> infer_ref =
        forward_infer_ref(data.x, rows, k.features, keras_epsilon, gamma_of(data, k), beta_of(data, k),
                          data.moving_mean.data(), data.moving_var.data(), k.act);
    const train_result backward_inputs = forward_from_reference(config, data, keras_epsilon);
    const bn_backward_ref backward_ref = backward_expected(config, data, backward_inputs);
    const auto output = hwy::AllocateAligned<float>(data.x.size() + 1);
    REQUIRE(output);
    for (const std::size_t offset : {std::size_t{0}, std::size_t{1}}) {
        INFO("output " << offset << " floats past an aligned address");
        float* const out = output.get() + offset;
        const auto written = [&] { return std::vector<float>(out, out + data.x.size()); };
        for_each_target([&] {
            std::vector<float> mean(k.features), var(k.features), inv_std(k.features);
            std::fill_n(out, data.x.size(), std::numeric_limits<float>::quiet_NaN());
            dispatch::ForwardTrainConfig(config, data.x.data(), rows, static_cast<float>(keras_epsilon),
                                         gamma_of(data, k), beta_of(data, k), mean.data(), var.data(), inv_std.data(),
                                         out);
            check_close("inv_std", inv_std, forward_ref.inv_std, forward_ref.inv_std, statistic_tolerance);
            check_close("y", written(), forward_ref.y, max_one_abs(forward_ref.y), output_tolerance);

            std::fill_n(out, data.x.size(), std::numeric_limits<float>::quiet_NaN());
            dispatch::ForwardInferConfig(config, data.x.data(), rows, static_cast<float>(keras_epsilon),
                                         gamma_of(data, k), beta_of(data, k), data.moving_mean.data(),
                                         data.moving_var.data(), out);
            check_close("inference y", written(), infer_ref, max_one_abs(infer_ref), output_tolerance);

            std::vector<float> dgamma(k.features), dbeta(k.features), scratch(2 * k.features);
            std::fill_n(out, data.x.size(), std::numeric_limits<float>::quiet_NaN());
            dispatch::BackwardConfig(config, data.x.data(), backward_inputs.y.data(), data.dy.data(), rows,
                                     gamma_of(data, k), backward_inputs.mean.data(), backward_inputs.inv_std.data(),
                                     dgamma.data(), dbeta.data(), out, scratch.data());
            check_close("dgamma", dgamma, backward_ref.dgamma, backward_ref.dgamma_scale, gradient_tolerance);
            check_close("dx", written(), backward_ref.dx, backward_ref.dx_scale, gradient_tolerance);
        });
    }
}

}  // namespace nnfuse::test
