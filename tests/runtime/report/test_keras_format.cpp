// Keras 2 Progbar number formats; expected strings are what Python prints for the same values.
#include "runtime/report/keras_format.hpp"

#include <catch2/catch.hpp>

#include <limits>

using nnfuse::format_eta;
using nnfuse::format_metric_value;
using nnfuse::format_time_per_unit;

TEST_CASE("metric values: .4f above 1e-3 in magnitude, .4e otherwise", "[report][format]") {
    CHECK(format_metric_value(0.5964) == "0.5964");
    CHECK(format_metric_value(0.79214) == "0.7921");
    CHECK(format_metric_value(-0.25) == "-0.2500");
    CHECK(format_metric_value(12345.678) == "12345.6780");
    CHECK(format_metric_value(0.0011) == "0.0011");
    CHECK(format_metric_value(0.001) == "1.0000e-03");
    CHECK(format_metric_value(0.0005) == "5.0000e-04");
    CHECK(format_metric_value(-0.0001234) == "-1.2340e-04");
    CHECK(format_metric_value(1e-12) == "1.0000e-12");
    // Keras prints zero through the .4e branch too (abs(0) > 1e-3 is false).
    CHECK(format_metric_value(0.0) == "0.0000e+00");
    CHECK(format_metric_value(std::numeric_limits<double>::quiet_NaN()) == "nan");
    CHECK(format_metric_value(std::numeric_limits<double>::infinity()) == "inf");
}

TEST_CASE("time per step: us under 1 ms, ms under 1 s, s otherwise (Keras _format_time)", "[report][format]") {
    CHECK(format_time_per_unit(0.000533, "step") == " 533us/step");
    CHECK(format_time_per_unit(0.0009994, "step") == " 999us/step");
    CHECK(format_time_per_unit(0.001, "step") == " 1ms/step");
    CHECK(format_time_per_unit(0.25, "step") == " 250ms/step");
    CHECK(format_time_per_unit(0.9994, "step") == " 999ms/step");
    CHECK(format_time_per_unit(1.0, "step") == " 1s/step");
    CHECK(format_time_per_unit(12.4, "step") == " 12s/step");
    CHECK(format_time_per_unit(0.0, "step") == " 0s/step");
    CHECK(format_time_per_unit(3.0, "epoch") == " 3s/epoch");
    // Ties round to even, as Python's format does.
    CHECK(format_time_per_unit(2.5, "step") == " 2s/step");
    CHECK(format_time_per_unit(0.0015, "step") == " 2ms/step");
}

TEST_CASE("ETA: seconds, then m:ss above a minute, then h:mm:ss above an hour", "[report][format]") {
    CHECK(format_eta(0.0) == "0s");
    CHECK(format_eta(12.7) == "12s");
    CHECK(format_eta(60.0) == "60s");
    CHECK(format_eta(60.5) == "1:00");
    CHECK(format_eta(65.2) == "1:05");
    CHECK(format_eta(3599.0) == "59:59");
    CHECK(format_eta(3600.0) == "60:00");
    CHECK(format_eta(3600.5) == "1:00:00");
    CHECK(format_eta(3725.9) == "1:02:05");
    CHECK(format_eta(90061.0) == "25:01:01");
}
