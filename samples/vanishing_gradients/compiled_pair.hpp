// One depth/width/activation the vanishing_gradients sample can run: its two generated Nets
// (without BN, and with Dense(no bias) -> BN -> activation blocks), made on demand.
// The list of pairs, vg_compiled_models.hpp, is written by meson from nnfuse_models (see this
// folder's meson.build): a pair exists when both vg_<activation>_d<depth>_w<width>_no_bn and
// vg_<activation>_d<depth>_w<width>_bn are entries there.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "runtime/train/network.hpp"

namespace vanishing_gradients {

using net_factory = std::unique_ptr<nnfuse::network> (*)(std::size_t max_batch);

template <class Net>
std::unique_ptr<nnfuse::network> make_net(std::size_t max_batch) {
    return std::make_unique<Net>(max_batch);
}

struct compiled_pair {
    std::size_t depth, width;
    std::string_view activation;  // Keras's name
    net_factory no_bn, bn;
};

}  // namespace vanishing_gradients
