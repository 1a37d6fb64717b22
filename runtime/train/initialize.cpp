#include "runtime/train/initialize.hpp"

#include <algorithm>
#include <cmath>

#include "runtime/train/batch_norm_statistics.hpp"
#include "runtime/train/random.hpp"

namespace nnfuse {

void initialize_variables(network& net, std::uint64_t seed) {
    random_stream random(seed);
    for (const variable_ref& v : net.variables()) {
        std::fill(v.grad.begin(), v.grad.end(), 0.0f);
        switch (v.init) {
            case initializer::zeros:
                std::fill(v.value.begin(), v.value.end(), 0.0f);
                break;
            case initializer::ones:
                std::fill(v.value.begin(), v.value.end(), 1.0f);
                break;
            case initializer::glorot_uniform: {
                const float limit = std::sqrt(6.0f / static_cast<float>(v.fan_in + v.fan_out));
                for (float& w : v.value) w = (2.0f * random.uniform01() - 1.0f) * limit;
                break;
            }
        }
    }
    if (batch_norm_statistics* const bn_statistics = net.as_batch_norm_statistics()) {
        for (const bn_layer_ref& bn : bn_statistics->bn_layers()) *bn.batches_seen = 0;
    }
}

}  // namespace nnfuse
