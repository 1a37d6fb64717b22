// network's default for the optional capability of training over several processes (network.hpp).
#include "runtime/train/network.hpp"

#include <stdexcept>
#include <string>

namespace nnfuse {

void network::set_chunk_exchange(chunk_exchange* exchange) {
    if (exchange == nullptr) return;
    throw std::invalid_argument(std::string(model_name()) + ": this network cannot train over several processes");
}

}  // namespace nnfuse
