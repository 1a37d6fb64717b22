#include "runtime/optim/adam.hpp"

#include "runtime/optim/hyperparameter_checks.hpp"
#include "runtime/optim/update_kernels.hpp"

#include <cmath>

namespace nnfuse {

adam::adam(float learning_rate, float beta_1, float beta_2, float epsilon)
    : learning_rate_(learning_rate), beta_1_(beta_1), beta_2_(beta_2), epsilon_(epsilon), slots_("adam", {"m", "v"}) {
    require_learning_rate("adam", learning_rate);
    require_unit_interval("adam", "beta_1", beta_1);
    require_unit_interval("adam", "beta_2", beta_2);
    require_positive("adam", "epsilon", epsilon);
}

void adam::set_learning_rate(float learning_rate) {
    require_set_learning_rate("adam", learning_rate);
    learning_rate_ = learning_rate;
}

void adam::prepare(std::span<const parameter_ref> params) { slots_.bind(params); }

void adam::step(std::span<const parameter_ref> params) {
    slots_.bind(params);
    // The bias correction in double: beta^t in float loses digits long before t gets large.
    const double t = static_cast<double>(iterations_ + 1);
    const auto alpha = static_cast<float>(static_cast<double>(learning_rate_) *
                                          std::sqrt(1.0 - std::pow(static_cast<double>(beta_2_), t)) /
                                          (1.0 - std::pow(static_cast<double>(beta_1_), t)));
    const float b1 = beta_1_, one_minus_b1 = 1.0f - beta_1_;
    const float b2 = beta_2_, one_minus_b2 = 1.0f - beta_2_;
    const float eps = epsilon_;
    for (std::size_t i = 0; i < params.size(); ++i) {
        adam_update(params[i].value.data(), slots_.slot(i, 0).data(), slots_.slot(i, 1).data(), params[i].grad.data(),
                    params[i].value.size(), alpha, b1, one_minus_b1, b2, one_minus_b2, eps);
    }
    ++iterations_;
}

}  // namespace nnfuse
