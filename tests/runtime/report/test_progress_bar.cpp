// progress_bar: exact output for fixed clocks, interactive (redrawn in place) and not (one line).
#include "runtime/report/progress_bar.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <vector>

using nnfuse::metric;
using nnfuse::progress_bar;

namespace {

// A clock the test moves by hand.
struct manual_clock {
    double now = 0.0;
    nnfuse::seconds_clock fn() {
        return [this] { return now; };
    }
};

using metrics = std::vector<metric>;

// One epoch of 10 steps: step 1 at 0.5 s, then 0.5 s per step; step 2 comes too soon to be drawn.
void run_ten_step_epoch(progress_bar& bar, manual_clock& clock) {
    clock.now = 0.5;
    bar.update(1, metrics{{"loss", 0.5}});
    clock.now = 0.52;
    bar.update(2, metrics{{"loss", 0.45}});
    clock.now = 2.5;
    bar.update(5, metrics{{"loss", 0.25}, {"accuracy", 0.0005}});
    clock.now = 5.0;
    bar.update(10, metrics{{"loss", 0.2}});
    clock.now = 5.2;
    bar.finish(metrics{{"loss", 0.2}, {"accuracy", 0.9}, {"val_loss", 0.3}});
}

const std::string final_ten_step_line =
    "10/10 [==============================] - 5s 522ms/step - loss: 0.2000 - accuracy: 0.9000 - val_loss: 0.3000";

}  // namespace

TEST_CASE("progress_bar redraws in place on a terminal", "[report][progress]") {
    manual_clock clock;
    std::ostringstream out;
    progress_bar bar(out, 10, true, clock.fn());
    run_ten_step_epoch(bar, clock);

    const std::string line1 = " 1/10 [==>...........................] - ETA: 4s - loss: 0.5000";
    const std::string line5 = " 5/10 [==============>...............] - ETA: 2s - loss: 0.2500 - accuracy: 5.0000e-04";
    const std::string line10 = "10/10 [==============================] - ETA: 0s - loss: 0.2000";
    // The shorter step-10 line is padded with spaces over the rest of the step-5 line.
    const std::string expected = "\r" + line1 + "\r" + line5 + "\r" + line10 +
                                 std::string(line5.size() - line10.size(), ' ') + "\r" + final_ten_step_line + "\n";
    CHECK(out.str() == expected);
    CHECK(bar.finished());
}

TEST_CASE("progress_bar prints one line per epoch when not on a terminal", "[report][progress]") {
    manual_clock clock;
    std::ostringstream out;
    progress_bar bar(out, 10, false, clock.fn());
    run_ten_step_epoch(bar, clock);
    CHECK(out.str() == final_ten_step_line + "\n");
}

TEST_CASE("progress_bar final line: us/step, ms/step, s/step", "[report][progress]") {
    manual_clock clock;
    std::ostringstream out;

    SECTION("under a millisecond per step (the Fashion-MNIST epoch of Keras's docs)") {
        progress_bar bar(out, 1875, false, clock.fn());
        clock.now = 0.001;
        bar.update(1, metrics{{"loss", 2.3}});
        clock.now = 1.0;
        bar.finish(metrics{{"loss", 0.5964}, {"accuracy", 0.7921}});
        CHECK(out.str() ==
              "1875/1875 [==============================] - 1s 533us/step - loss: 0.5964 - accuracy: 0.7921\n");
    }
    SECTION("seconds per step") {
        progress_bar bar(out, 3, false, clock.fn());
        clock.now = 2.0;
        bar.update(1, {});
        clock.now = 8.0;
        bar.finish(metrics{{"loss", 1.23456}});
        CHECK(out.str() == "3/3 [==============================] - 8s 3s/step - loss: 1.2346\n");
    }
    SECTION("without step 1, the time is averaged from the start") {
        progress_bar bar(out, 4, false, clock.fn());
        clock.now = 2.0;
        bar.finish({});
        CHECK(out.str() == "4/4 [==============================] - 2s 500ms/step\n");
    }
    SECTION("the epoch starts when the bar is made, not at clock zero") {
        clock.now = 1000.0;
        progress_bar bar(out, 2, false, clock.fn());
        clock.now = 1000.75;
        bar.finish(metrics{{"mae", 0.0}});
        CHECK(out.str() == "2/2 [==============================] - 1s 375ms/step - mae: 0.0000e+00\n");
    }
}

TEST_CASE("progress_bar right-aligns the step and formats long ETAs", "[report][progress]") {
    manual_clock clock;
    std::ostringstream out;
    SECTION("minutes") {
        progress_bar bar(out, 1875, true, clock.fn());
        clock.now = 7.0;
        bar.update(7, {});
        CHECK(out.str() == "\r   7/1875 [..............................] - ETA: 31:08");
    }
    SECTION("hours") {
        progress_bar bar(out, 10000, true, clock.fn());
        clock.now = 1.0;
        bar.update(1, {});
        CHECK(out.str() == "\r    1/10000 [..............................] - ETA: 2:46:39");
    }
    SECTION("step 0") {
        progress_bar bar(out, 10, true, clock.fn());
        bar.update(0, metrics{{"loss", 0.0}});
        CHECK(out.str() == "\r 0/10 [..............................] - ETA: 0s - loss: 0.0000e+00");
    }
}

TEST_CASE("progress_bar redraws at most every 0.05 s, and always at the end", "[report][progress]") {
    manual_clock clock;
    std::ostringstream out;
    progress_bar bar(out, 100, true, clock.fn());
    std::size_t draws = 0;
    const auto count_draws = [&] {
        const std::string text = out.str();
        return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\r'));
    };
    clock.now = 1.0;
    bar.update(1, {});
    CHECK(count_draws() == ++draws);
    clock.now = 1.04;
    bar.update(2, {});
    CHECK(count_draws() == draws);
    clock.now = 1.05;
    bar.update(3, {});
    CHECK(count_draws() == ++draws);
    clock.now = 1.06;
    bar.finish({});
    CHECK(count_draws() == ++draws);
    CHECK(out.str().back() == '\n');
}

TEST_CASE("progress_bar rejects misuse", "[report][progress]") {
    manual_clock clock;
    std::ostringstream out;
    CHECK_THROWS_AS(progress_bar(out, 0, true, clock.fn()), std::invalid_argument);
    CHECK_THROWS_AS(progress_bar(out, 5, true, nnfuse::seconds_clock{}), std::invalid_argument);
    progress_bar bar(out, 5, true, clock.fn());
    CHECK_THROWS_AS(bar.update(6, {}), std::out_of_range);
    bar.finish({});
    CHECK_THROWS_AS(bar.finish({}), std::logic_error);
    CHECK_THROWS_AS(bar.update(5, {}), std::logic_error);
}

TEST_CASE("progress_bar works with the real clock", "[report][progress]") {
    std::ostringstream out;
    progress_bar bar(out, 2, false);
    bar.update(1, {});
    bar.update(2, {});
    bar.finish(metrics{{"loss", 1.0}});
    CHECK_THAT(out.str(), Catch::Matchers::StartsWith("2/2 [==============================] - 0s ") &&
                              Catch::Matchers::EndsWith("/step - loss: 1.0000\n"));
}
