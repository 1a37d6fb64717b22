// The rounding bound of Winograd's F(2x2, 3x3) (runtime/kernels/conv2d_winograd-inl.h), for the Conv2D tests: the
// transforms add and subtract before the products are summed, so a direct sum's bound (n u sum |x w|) does not hold.
//
// WinogradMagnitudes(g, filters, rows, x, kernel): per output [rows, out_h, out_w, filters], the sum of |terms| the
// computation rounds, every transform taken in absolute value:
//   |Am^T| (sum over channels of (|Gm| |k| |Gm^T|) . (|Bm^T| |d| |Bm|)) |Am|
// with d a tile's 4x4 inputs (zero padding), k a channel and filter's 3x3 taps, . element-wise. Each product is a
// dot product of C terms, the input transform adds 2 roundings, the kernel's 4, the output's 4 and the bias 1, so
// |fl(y) - y| <= WinogradTolerance = (C + 12) u magnitude + u |bias|: the first-order bound of each stage (Higham,
// Accuracy and Stability of Numerical Algorithms, 3.1) with one u to spare.
// Requires g 3x3, stride 1, same padding (window_geometry.hpp's forward_is_winograd geometry); x and kernel as
// ConvPreActivations takes them.
//
// WinogradGradientMagnitudes(g, filters, rows, x, dz): the same for the kernel gradient's F(3x3, 2x2)
// (conv2d_winograd_gradient-inl.h), per dkernel value [3, 3, channels, filters]:
//   |Am^T| (sum over the rows' tiles of (|Gm| |g| |Gm^T|) . (|Bm^T| |d| |Bm|)) |Am|
// with g a tile's 2x2 dz (zero past the output); its N = rows x tiles products summed in any blocking, plus 2
// roundings of each transform, 4 of the output's and 1 into dkernel, give WinogradTolerance(N, magnitude, 0).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "runtime/kernels/window_geometry.hpp"
#include "tests/runtime/dense_kernels/dense_test_support.hpp"

namespace nnfuse::test {

// |Bm^T| |d| |Bm| (the same for both algorithms) of channel c's 4x4 input tile d of tile (ty, tx) of row r: input rows
// 2 ty - 1 .. 2 ty + 2, columns 2 tx - 1 .. 2 tx + 2, zero outside.
inline void TransformedInputMagnitudes(const kernels::window_geometry& g, const std::vector<double>& x, std::size_t r,
                                       std::size_t ty, std::size_t tx, std::size_t c, double (&v)[16]) {
    constexpr double kBmT[4][4] = {{1, 0, 1, 0}, {0, 1, 1, 0}, {0, 1, 1, 0}, {0, 1, 0, 1}};  // |Bm^T|
    double d[4][4];
    for (std::size_t i = 0; i < 4; ++i) {
        for (std::size_t j = 0; j < 4; ++j) {
            const long ih = static_cast<long>(2 * ty + i) - 1, iw = static_cast<long>(2 * tx + j) - 1;
            const bool inside =
                ih >= 0 && iw >= 0 && ih < static_cast<long>(g.height) && iw < static_cast<long>(g.width);
            d[i][j] =
                inside
                    ? std::abs(
                          x[((r * g.height + static_cast<std::size_t>(ih)) * g.width + static_cast<std::size_t>(iw)) *
                                g.channels +
                            c])
                    : 0.0;
        }
    }
    for (std::size_t i = 0; i < 4; ++i) {
        for (std::size_t j = 0; j < 4; ++j) {
            double sum = 0;
            for (std::size_t a = 0; a < 4; ++a) {
                for (std::size_t b = 0; b < 4; ++b) sum += kBmT[i][a] * d[a][b] * kBmT[j][b];
            }
            v[4 * i + j] = sum;
        }
    }
}

inline std::vector<double> WinogradMagnitudes(const kernels::window_geometry& g, std::size_t filters, std::size_t rows,
                                              const std::vector<double>& x, const std::vector<double>& kernel) {
    constexpr double kGm[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}, {0, 0, 1}};  // |Gm|
    constexpr double kAmT[2][4] = {{1, 1, 1, 0}, {0, 1, 1, 1}};                             // |Am^T|
    const std::size_t C = g.channels, out_h = g.out_height(), out_w = g.out_width();
    // |Gm| |k| |Gm^T| per channel and filter.
    std::vector<double> u(C * filters * 16, 0.0);
    for (std::size_t c = 0; c < C; ++c) {
        for (std::size_t f = 0; f < filters; ++f) {
            for (std::size_t i = 0; i < 4; ++i) {
                for (std::size_t j = 0; j < 4; ++j) {
                    double sum = 0;
                    for (std::size_t a = 0; a < 3; ++a) {
                        for (std::size_t b = 0; b < 3; ++b) {
                            sum += kGm[i][a] * std::abs(kernel[((a * 3 + b) * C + c) * filters + f]) * kGm[j][b];
                        }
                    }
                    u[(c * filters + f) * 16 + 4 * i + j] = sum;
                }
            }
        }
    }
    std::vector<double> result(rows * out_h * out_w * filters, 0.0);
    std::vector<double> products(filters * 16);
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t ty = 0; 2 * ty < out_h; ++ty) {
            for (std::size_t tx = 0; 2 * tx < out_w; ++tx) {
                std::fill(products.begin(), products.end(), 0.0);
                for (std::size_t c = 0; c < C; ++c) {
                    double v[16];
                    TransformedInputMagnitudes(g, x, r, ty, tx, c, v);
                    for (std::size_t f = 0; f < filters; ++f) {
                        const double* uf = &u[(c * filters + f) * 16];
                        for (std::size_t k = 0; k < 16; ++k) products[f * 16 + k] += uf[k] * v[k];
                    }
                }
                for (std::size_t a = 0; a < 2 && 2 * ty + a < out_h; ++a) {
                    for (std::size_t b = 0; b < 2 && 2 * tx + b < out_w; ++b) {
                        const std::size_t out = ((r * out_h + 2 * ty + a) * out_w + 2 * tx + b) * filters;
                        for (std::size_t f = 0; f < filters; ++f) {
                            double sum = 0;
                            for (std::size_t i = 0; i < 4; ++i) {
                                for (std::size_t j = 0; j < 4; ++j)
                                    sum += kAmT[a][i] * products[f * 16 + 4 * i + j] * kAmT[b][j];
                            }
                            result[out + f] = sum;
                        }
                    }
                }
            }
        }
    }
    return result;
}

inline std::vector<double> WinogradGradientMagnitudes(const kernels::window_geometry& g, std::size_t filters,
                                                      std::size_t rows, const std::vector<double>& x,
                                                      const std::vector<double>& dz) {
    constexpr double kGm[4][2] = {{1, 0}, {0.5, 0.5}, {0.5, 0.5}, {0, 1}};     // |Gm|
    constexpr double kAmT[3][4] = {{1, 1, 1, 0}, {0, 1, 1, 0}, {0, 1, 1, 1}};  // |Am^T|
    const std::size_t C = g.channels, out_h = g.out_height(), out_w = g.out_width();
    std::vector<double> products(C * filters * 16, 0.0), v(C * 16), w(filters * 16);
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t ty = 0; 2 * ty < out_h; ++ty) {
            for (std::size_t tx = 0; 2 * tx < out_w; ++tx) {
                for (std::size_t c = 0; c < C; ++c) {
                    double tile[16];
                    TransformedInputMagnitudes(g, x, r, ty, tx, c, tile);
                    std::copy(tile, tile + 16, v.begin() + static_cast<std::ptrdiff_t>(c * 16));
                }
                for (std::size_t f = 0; f < filters; ++f) {
                    double t[2][2];
                    for (std::size_t a = 0; a < 2; ++a) {
                        for (std::size_t b = 0; b < 2; ++b) {
                            const std::size_t oh = 2 * ty + a, ow = 2 * tx + b;
                            t[a][b] = oh < out_h && ow < out_w
                                          ? std::abs(dz[((r * out_h + oh) * out_w + ow) * filters + f])
                                          : 0.0;
                        }
                    }
                    for (std::size_t i = 0; i < 4; ++i) {
                        for (std::size_t j = 0; j < 4; ++j) {
                            double sum = 0;
                            for (std::size_t a = 0; a < 2; ++a) {
                                for (std::size_t b = 0; b < 2; ++b) sum += kGm[i][a] * t[a][b] * kGm[j][b];
                            }
                            w[f * 16 + 4 * i + j] = sum;
                        }
                    }
                }
                for (std::size_t c = 0; c < C; ++c) {
                    for (std::size_t f = 0; f < filters; ++f) {
                        for (std::size_t k = 0; k < 16; ++k)
                            products[(c * filters + f) * 16 + k] += v[c * 16 + k] * w[f * 16 + k];
                    }
                }
            }
        }
    }
    std::vector<double> result(9 * C * filters);
    for (std::size_t a = 0; a < 3; ++a) {
        for (std::size_t b = 0; b < 3; ++b) {
            for (std::size_t c = 0; c < C; ++c) {
                for (std::size_t f = 0; f < filters; ++f) {
                    double sum = 0;
                    for (std::size_t i = 0; i < 4; ++i) {
                        for (std::size_t j = 0; j < 4; ++j)
                            sum += kAmT[a][i] * products[(c * filters + f) * 16 + 4 * i + j] * kAmT[b][j];
                    }
                    result[((a * 3 + b) * C + c) * filters + f] = sum;
                }
            }
        }
    }
    return result;
}

// The bound above for output i of magnitude `magnitude` over C channels, with the bias `bias` added last.
inline double WinogradTolerance(std::size_t channels, double magnitude, double bias) {
    return static_cast<double>(channels + 12) * kUnitRoundoff * magnitude + kUnitRoundoff * std::abs(bias) +
           kSmallestNormal;
}

}  // namespace nnfuse::test
