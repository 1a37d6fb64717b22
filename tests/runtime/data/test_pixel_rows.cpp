// gather_pixel_rows: every pixel equals the plain conversion times the scale, on every compiled SIMD target,
// for row sizes that leave every possible tail, with rows picked out of order and repeated.
#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "hwy/highway.h"
#include "hwy/targets.h"
#include "runtime/data/pixel_rows.hpp"

TEST_CASE("gather_pixel_rows widens and scales the chosen rows on every SIMD target", "[data][pixels]") {
    const float scale = 1.0f / 255.0f;
    for (const std::size_t row_size :
         {std::size_t{1}, std::size_t{7}, std::size_t{16}, std::size_t{33}, std::size_t{784}}) {
        const std::size_t count = 9;
        std::vector<std::uint8_t> pixels(count * row_size);
        for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>((i * 37 + 11) % 256);
        pixels.front() = 255;  // both ends of the range
        pixels.back() = 0;
        const std::vector<std::uint32_t> rows = {8, 0, 3, 3, 5};
        for (const std::int64_t target : hwy::SupportedAndGeneratedTargets()) {
            hwy::SetSupportedTargetsForTest(target);
            INFO("SIMD target " << hwy::TargetName(target) << ", row size " << row_size);
            std::vector<float> out(rows.size() * row_size + 1, -1.0f);
            nnfuse::gather_pixel_rows(pixels.data(), row_size, rows, scale, out.data());
            for (std::size_t r = 0; r < rows.size(); ++r) {
                for (std::size_t i = 0; i < row_size; ++i) {
                    const double expected = static_cast<double>(static_cast<float>(
                        static_cast<double>(pixels[rows[r] * row_size + i]) * static_cast<double>(scale)));
                    REQUIRE(out[r * row_size + i] == Approx(expected).epsilon(1e-7));
                }
            }
            REQUIRE(out.back() == -1.0f);  // nothing written past the batch
        }
        hwy::SetSupportedTargetsForTest(0);
    }
}
