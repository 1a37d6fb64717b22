// nnfuse::exporter steps: the C++17 text of predict's per-sample operations (operations.hpp's op) in the exported
// header.
//
// step_definition(o, fn): the constant arrays of `o` (hex-float literals, each float exact) and a function `fn`
//   (in, n, out), or (in, other, n, out) for an add, computing `o` on n samples stored one after the other.
//   Sums are accumulated in double; an element-wise step may run in place (out == in).
// helper_definitions(ops): the activations, softmax and window clipping the steps call, as the Net's kernels compute
//   them (runtime/kernels/activation-inl.h, pooling-inl.h).
// float_literal(v): v rounded to float once, as a hex-float literal ("0x1.99999ap-4f").
#pragma once

#include <string>
#include <vector>

#include "export/operations.hpp"

namespace nnfuse::exporter {

std::string step_definition(const op& o, const std::string& fn);
std::string helper_definitions(const std::vector<op>& ops);
std::string float_literal(double value);

}  // namespace nnfuse::exporter
