// The nnfuse model DSL in one include: layers, losses, sequential(), parameter counts, summary().
#pragma once

#include "dsl/activation.hpp"
#include "dsl/layers/activation_layer.hpp"
#include "dsl/layers/batch_norm.hpp"
#include "dsl/layers/conv2d.hpp"
#include "dsl/layers/dense.hpp"
#include "dsl/layers/dropout.hpp"
#include "dsl/layers/flatten.hpp"
#include "dsl/layers/input.hpp"
#include "dsl/layers/normalization.hpp"
#include "dsl/layers/pooling2d.hpp"
#include "dsl/layers/reshape.hpp"
#include "dsl/layers/residual.hpp"
#include "dsl/loss.hpp"
#include "dsl/sequential.hpp"
#include "dsl/summary.hpp"
