#include "runtime/parallel/per_thread_copies.hpp"

#include <new>
#include <stdexcept>

namespace nnfuse {

void per_thread_copies::begin_step(std::size_t threads) {
    if (threads == 0) throw std::invalid_argument("per_thread_copies: threads must be at least 1");
    if (threads > made_in_step_.size()) {
        copies_ = hwy::AllocateAligned<float>(threads * stride_);
        if (!copies_) throw std::bad_alloc();
        made_in_step_.assign(threads, made_in{});
    }
    ++step_;
}

}  // namespace nnfuse
