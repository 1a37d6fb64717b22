#include "runtime/optim/sgd.hpp"

#include "runtime/optim/hyperparameter_checks.hpp"
#include "runtime/optim/update_kernels.hpp"

#include <vector>

namespace nnfuse {
namespace {

std::vector<std::string> momentum_slot_names(float momentum) {
    // Keras creates no slot without momentum; neither do we, so state() then has nothing to save.
    return momentum > 0.0f ? std::vector<std::string>{"momentum"} : std::vector<std::string>{};
}

}  // namespace

sgd::sgd(float learning_rate, float momentum, bool nesterov)
    : learning_rate_(learning_rate),
      momentum_(momentum),
      nesterov_(nesterov),
      slots_("sgd", momentum_slot_names(momentum)) {
    require_learning_rate("sgd", learning_rate);
    require_unit_interval("sgd", "momentum", momentum);
}

void sgd::set_learning_rate(float learning_rate) {
    require_set_learning_rate("sgd", learning_rate);
    learning_rate_ = learning_rate;
}

void sgd::prepare(std::span<const parameter_ref> params) { slots_.bind(params); }

void sgd::step(std::span<const parameter_ref> params) {
    slots_.bind(params);
    const float lr = learning_rate_;
    const float mu = momentum_;
    for (std::size_t i = 0; i < params.size(); ++i) {
        float* const w = params[i].value.data();
        const float* const g = params[i].grad.data();
        const std::size_t n = params[i].value.size();
        if (mu == 0.0f) {
            sgd_update(w, g, n, lr);
        } else if (nesterov_) {
            sgd_nesterov_update(w, slots_.slot(i, 0).data(), g, n, lr, mu);
        } else {
            sgd_momentum_update(w, slots_.slot(i, 0).data(), g, n, lr, mu);
        }
    }
    ++iterations_;
}

}  // namespace nnfuse
