// bench/compare/conv_onednn: oneDNN 2.6's convolution primitives at the shapes of bench/conv_kernels, registered
// beside nnfuse's rows (built with meson -Dcompare=true).
// register_onednn_conv(name, geometry, filters, rows): three rows, BM_conv_{fwd,bwd_dkernel,bwd_dx}_onednn/<name>/N:
//   forward_training with bias and a fused relu post-op; backward weights (kernel and bias gradients); backward data.
//   Activations are NHWC (nnfuse's bytes); the weights take the layout oneDNN prefers (format_tag::any), reordered
//   once outside the timed loop, as a framework keeps them. One OpenMP thread. Counters as nnfuse's rows (flops_row).
#pragma once

#include <cstddef>
#include <string>

#include "runtime/kernels/window_geometry.hpp"

namespace nnfuse::bench {

void register_onednn_conv(const std::string& name, const kernels::window_geometry& geometry, std::size_t filters,
                          std::size_t rows);

}  // namespace nnfuse::bench
