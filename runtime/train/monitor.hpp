// monitor: which way a monitored quantity improves, for EarlyStopping and ReduceLROnPlateau (Keras's `mode`).
//
// monitor_direction(monitor, mode): mode min or max is taken as given; auto is max for a name that holds "acc"
//   (accuracy, binary_accuracy, val_accuracy) or "r_squared", min for one that holds "loss", "mae", "mse", "rmse" or
//   "error"; any other name under auto is std::invalid_argument asking for an explicit mode (Keras 3 refuses too).
// improves(direction, value, best, min_delta): value beats best by more than min_delta (|min_delta|, Keras's
//   `monitor_op(value - min_delta, best)`); NaN never improves; anything improves on a best that is NaN (none yet).
#pragma once

#include <string_view>

namespace nnfuse {

enum class monitor_mode { automatic, min, max };
enum class monitor_direction { min, max };

monitor_direction resolve_direction(std::string_view monitor, monitor_mode mode);
bool improves(monitor_direction direction, double value, double best, double min_delta);
// The starting best of a direction: +inf for min, -inf for max (what every value but NaN improves on).
double worst_value(monitor_direction direction);

}  // namespace nnfuse
