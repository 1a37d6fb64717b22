// Number formats of Keras 2's Progbar (keras/utils/generic_utils.py), so our logs read like Keras's.
//
// format_metric_value(v): "{:.4f}" when |v| > 1e-3, else "{:.4e}" (so 0 prints "0.0000e+00", as Keras);
//   nan and inf print as "nan", "inf".
// format_time_per_unit(seconds, unit): Keras's _format_time, with its leading space:
//   " 2s/step" when seconds >= 1 or == 0, " 533ms/step" when >= 1e-3, else " 533us/step" (rounded, .0f).
// format_eta(seconds): "12s", "1:05" above 60 s, "1:01:05" above 3600 s (fields truncated, as "%d").
#pragma once

#include <string>
#include <string_view>

namespace nnfuse {

std::string format_metric_value(double value);
std::string format_time_per_unit(double seconds, std::string_view unit);
std::string format_eta(double seconds);

}  // namespace nnfuse
