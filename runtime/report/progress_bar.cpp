#include "runtime/report/progress_bar.hpp"

#include "runtime/report/keras_format.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>

namespace nnfuse {

double steady_clock_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

progress_bar::progress_bar(std::ostream& out, std::size_t total_steps, bool interactive, seconds_clock clock)
    : out_(out), total_(total_steps), interactive_(interactive), clock_(std::move(clock)), start_(0.0) {
    if (total_ == 0) throw std::invalid_argument("progress_bar: total_steps must be >= 1, got 0");
    if (!clock_) throw std::invalid_argument("progress_bar: the clock is empty");
    start_ = clock_();
}

void progress_bar::update(std::size_t step, std::span<const metric> metrics) {
    if (finished_) throw std::logic_error("progress_bar: update() after finish()");
    if (step > total_) {
        throw std::out_of_range(fmt::format("progress_bar: step {} is past the total of {}", step, total_));
    }
    const double now = clock_();
    if (step == 1 && !time_after_first_step_) time_after_first_step_ = now;
    if (!interactive_) return;
    if (last_draw_ && now - *last_draw_ < redraw_interval) return;
    draw(render(step, now, false, metrics), false);
    last_draw_ = now;
}

void progress_bar::finish(std::span<const metric> metrics) {
    if (finished_) throw std::logic_error("progress_bar: finish() called twice");
    finished_ = true;
    draw(render(total_, clock_(), true, metrics), true);
}

double progress_bar::seconds_per_step(std::size_t step, double now) const {
    if (step == 0) return 0.0;
    if (time_after_first_step_ && step > 1) return (now - *time_after_first_step_) / static_cast<double>(step - 1);
    return (now - start_) / static_cast<double>(step);
}

std::string progress_bar::render(std::size_t step, double now, bool final, std::span<const metric> metrics) const {
    const std::string total_text = std::to_string(total_);
    std::string line = fmt::format("{:>{}}/{} [", step, total_text.size(), total_text);
    const auto done = static_cast<std::size_t>(static_cast<double>(bar_width) *
                                               (static_cast<double>(step) / static_cast<double>(total_)));
    if (done > 0) {
        line.append(done - 1, '=');
        line += step < total_ ? '>' : '=';
    }
    line.append(bar_width - done, '.');
    line += ']';

    const double per_step = seconds_per_step(step, now);
    if (final) {
        line += fmt::format(" - {:.0f}s", now - start_);
        line += format_time_per_unit(per_step, "step");
    } else {
        line += " - ETA: ";
        line += format_eta(per_step * static_cast<double>(total_ - step));
    }
    for (const metric& m : metrics) {
        line += fmt::format(" - {}: ", m.name);
        line += format_metric_value(m.value);
    }
    return line;
}

void progress_bar::draw(const std::string& line, bool final) {
    if (interactive_) {
        out_ << '\r' << line;
        // Cover what is left of a longer previous line (e.g. "ETA: 1:05" shrinking to "ETA: 59s").
        if (drawn_width_ > line.size()) out_ << std::string(drawn_width_ - line.size(), ' ');
        drawn_width_ = line.size();
    } else {
        out_ << line;
    }
    if (final) out_ << '\n';
    out_.flush();
}

}  // namespace nnfuse
