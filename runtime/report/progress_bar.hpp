// progress_bar: Keras 2's fit() progress line for one epoch (the caller prints "Epoch 1/5" before it):
//   running:  " 937/1875 [==============>...............] - ETA: 1s - loss: 0.6120 - accuracy: 0.7801"
//   finished: "1875/1875 [==============================] - 1s 533us/step - loss: 0.5964 - accuracy: 0.7921"
// The bar is 30 wide ('=' done, '>' head, '.' rest); the step count is right-aligned to the width of the
// total; times and values are formatted as in keras_format.hpp. The per-step time follows Keras's
// estimate: after step 1 was reported, (now - time of step 1) / (step - 1), which leaves out a slow
// first step; otherwise (now - start) / step. The epoch's start is the construction time.
//
// interactive (a terminal): update() redraws the line in place ("\r", padded with spaces over a longer
//   previous line), at most every redraw_interval seconds; finish() always draws and ends with "\n".
// not interactive (a log file): update() prints nothing; finish() prints exactly one line + "\n".
//
// requires: total_steps >= 1 (std::invalid_argument); update's step <= total_steps (std::out_of_range);
//           no call after finish() (std::logic_error). Metrics are printed in the order given.
// The clock returns seconds from any fixed origin; tests inject one to make the output deterministic.
#pragma once

#include "runtime/report/metric.hpp"

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>

namespace nnfuse {

using seconds_clock = std::function<double()>;
double steady_clock_seconds();  // std::chrono::steady_clock, in seconds

class progress_bar {
public:
    static constexpr std::size_t bar_width = 30;
    static constexpr double redraw_interval = 0.05;  // seconds, as Keras's Progbar interval

    progress_bar(std::ostream& out, std::size_t total_steps, bool interactive,
                 seconds_clock clock = steady_clock_seconds);

    void update(std::size_t step, std::span<const metric> metrics);
    void finish(std::span<const metric> metrics);
    bool finished() const { return finished_; }

private:
    std::string render(std::size_t step, double now, bool final, std::span<const metric> metrics) const;
    void draw(const std::string& line, bool final);
    double seconds_per_step(std::size_t step, double now) const;

    std::ostream& out_;
    std::size_t total_;
    bool interactive_;
    seconds_clock clock_;
    double start_;
    std::optional<double> time_after_first_step_;
    std::optional<double> last_draw_;
    std::size_t drawn_width_ = 0;
    bool finished_ = false;
};

}  // namespace nnfuse
