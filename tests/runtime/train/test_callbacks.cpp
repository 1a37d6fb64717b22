// Keras's callbacks on their own: learning-rate schedules against their formulas evaluated by hand, the monitor's
// direction, and EarlyStopping and ReduceLROnPlateau driven through sequences of monitored values whose outcome
// follows from Keras 3's rules (keras/src/callbacks/early_stopping.py, reduce_lr_on_plateau.py).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <vector>

#include "runtime/optim/sgd.hpp"
#include "runtime/train/early_stopping.hpp"
#include "runtime/train/learning_rate_schedule.hpp"
#include "runtime/train/reduce_lr_on_plateau.hpp"
#include "tabular_binary_test.gen.hpp"

namespace gen = nnfuse::generated;

namespace {

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

// The epoch at which the stopper stops on `values` (one per epoch), or nullopt when it lets every epoch run.
std::optional<std::size_t> stop_epoch(nnfuse::early_stopping& stopper, nnfuse::network& net,
                                      const std::vector<double>& values) {
    stopper.begin();
    for (std::size_t epoch = 0; epoch < values.size(); ++epoch)
        if (stopper.end_of_epoch(epoch, values[epoch], net)) return epoch;
    return std::nullopt;
}

// The optimizer's rate after each epoch of `values`.
std::vector<float> rates_after(nnfuse::reduce_lr_on_plateau& reducer, float initial,
                               const std::vector<double>& values) {
    nnfuse::sgd optimizer(initial);
    reducer.begin();
    std::vector<float> rates;
    for (double v : values) {
        reducer.end_of_epoch(v, optimizer);
        rates.push_back(optimizer.learning_rate());
    }
    return rates;
}

}  // namespace

TEST_CASE("exponential and step decay follow initial * rate^(step / decay_steps)", "[callbacks][schedule]") {
    const nnfuse::exponential_decay smooth({.initial_learning_rate = 0.1f, .decay_steps = 10, .decay_rate = 0.5});
    CHECK(smooth.learning_rate(0) == 0.1f);
    CHECK(smooth.learning_rate(10) == Approx(0.05).epsilon(1e-7));
    CHECK(smooth.learning_rate(5) == Approx(0.1 / std::sqrt(2.0)).epsilon(1e-7));
    CHECK(smooth.learning_rate(25) == Approx(0.1 * std::pow(0.5, 2.5)).epsilon(1e-7));
    const nnfuse::exponential_decay stairs(
        {.initial_learning_rate = 0.1f, .decay_steps = 10, .decay_rate = 0.5, .staircase = true});
    CHECK(stairs.learning_rate(9) == 0.1f);
    CHECK(stairs.learning_rate(15) == Approx(0.05).epsilon(1e-7));
    CHECK(stairs.learning_rate(20) == Approx(0.025).epsilon(1e-7));
    // PyTorch's StepLR(step_size=3, gamma=0.1), counted in steps.
    const nnfuse::exponential_decay step = nnfuse::step_decay(0.1f, 3, 0.1);
    CHECK(step.learning_rate(2) == 0.1f);
    CHECK(step.learning_rate(3) == Approx(0.01).epsilon(1e-6));
    CHECK(step.learning_rate(8) == Approx(0.001).epsilon(1e-6));
    CHECK(step.describe().find("staircase=true") != std::string::npos);
}

TEST_CASE("cosine decay falls from the initial rate to alpha times it, then holds", "[callbacks][schedule]") {
    const nnfuse::cosine_decay to_zero(1.0f, 100);
    CHECK(to_zero.learning_rate(0) == 1.0f);
    CHECK(to_zero.learning_rate(50) == Approx(0.5).margin(1e-7));
    CHECK(to_zero.learning_rate(25) == Approx((1 + std::cos(M_PI / 4)) / 2).epsilon(1e-7));
    CHECK(to_zero.learning_rate(100) == Approx(0.0).margin(1e-7));
    CHECK(to_zero.learning_rate(1000) == to_zero.learning_rate(100));
    const nnfuse::cosine_decay to_tenth(1.0f, 100, 0.1);
    CHECK(to_tenth.learning_rate(100) == Approx(0.1).epsilon(1e-7));
    CHECK(to_tenth.learning_rate(50) == Approx(0.55).epsilon(1e-7));
}

TEST_CASE("piecewise constant decay: a boundary step still has the value before it, as Keras",
          "[callbacks][schedule]") {
    const nnfuse::piecewise_constant_decay schedule({10, 20}, {1.0f, 0.5f, 0.1f});
    CHECK(schedule.learning_rate(0) == 1.0f);
    CHECK(schedule.learning_rate(10) == 1.0f);
    CHECK(schedule.learning_rate(11) == 0.5f);
    CHECK(schedule.learning_rate(20) == 0.5f);
    CHECK(schedule.learning_rate(21) == 0.1f);
    CHECK(schedule.learning_rate(1'000'000) == 0.1f);
    CHECK(nnfuse::piecewise_constant_decay({}, {0.3f}).learning_rate(7) == 0.3f);
}

TEST_CASE("schedules refuse values that cannot make a rate, naming them", "[callbacks][schedule][errors]") {
    CHECK_THROWS_WITH(nnfuse::exponential_decay({.initial_learning_rate = 0.1f, .decay_steps = 0, .decay_rate = 0.5}),
                      Catch::Contains("decay_steps") && Catch::Contains("got 0"));
    CHECK_THROWS_WITH(nnfuse::exponential_decay({.initial_learning_rate = -1, .decay_steps = 5, .decay_rate = 0.5}),
                      Catch::Contains("initial_learning_rate") && Catch::Contains("-1"));
    CHECK_THROWS_WITH(
        nnfuse::exponential_decay({.initial_learning_rate = 1, .decay_steps = 5, .decay_rate = not_a_number}),
        Catch::Contains("decay_rate") && Catch::Contains("nan"));
    CHECK_THROWS_WITH(nnfuse::cosine_decay(1.0f, 10, 1.5), Catch::Contains("alpha") && Catch::Contains("1.5"));
    CHECK_THROWS_WITH(nnfuse::piecewise_constant_decay({5, 5}, {1, 2, 3}), Catch::Contains("strictly increasing"));
    CHECK_THROWS_WITH(nnfuse::piecewise_constant_decay({5}, {1}), Catch::Contains("one more than the 1 boundaries"));
    CHECK_THROWS_WITH(nnfuse::piecewise_constant_decay({5}, {1, -2}), Catch::Contains("-2"));
}

TEST_CASE("mode auto reads the direction from the monitor's name", "[callbacks][monitor]") {
    using nnfuse::monitor_direction, nnfuse::monitor_mode;
    CHECK(nnfuse::resolve_direction("val_loss", monitor_mode::automatic) == monitor_direction::min);
    CHECK(nnfuse::resolve_direction("val_mae", monitor_mode::automatic) == monitor_direction::min);
    CHECK(nnfuse::resolve_direction("val_rmse", monitor_mode::automatic) == monitor_direction::min);
    CHECK(nnfuse::resolve_direction("accuracy", monitor_mode::automatic) == monitor_direction::max);
    CHECK(nnfuse::resolve_direction("val_binary_accuracy", monitor_mode::automatic) == monitor_direction::max);
    CHECK(nnfuse::resolve_direction("val_loss", monitor_mode::max) == monitor_direction::max);
    CHECK_THROWS_WITH(nnfuse::resolve_direction("learning_rate", monitor_mode::automatic),
                      Catch::Contains("\"learning_rate\"") && Catch::Contains("mode min or max"));
    CHECK(nnfuse::improves(monitor_direction::min, 0.9, not_a_number, 0.0));
    CHECK_FALSE(nnfuse::improves(monitor_direction::min, not_a_number, 1.0, 0.0));
    CHECK_FALSE(nnfuse::improves(monitor_direction::min, 0.9995, 1.0, 0.001));
    CHECK(nnfuse::improves(monitor_direction::min, 0.9985, 1.0, -0.001));  // |min_delta|, as Keras
    CHECK(nnfuse::improves(monitor_direction::max, 0.81, 0.8, 0.0));
}

TEST_CASE("early stopping stops after `patience` epochs without improvement, as Keras counts them",
          "[callbacks][early_stopping]") {
    gen::tabular_binary_test::Net net(4);
    // Keras's documented example: a loss that never improves after the first epoch, patience 3: 4 epochs run.
    nnfuse::early_stopping patient({.monitor = "loss", .patience = 3});
    CHECK(stop_epoch(patient, net, {1, 2, 3, 4, 5, 6}) == 3u);
    CHECK(patient.state().stopped_epoch == 3);
    CHECK(patient.state().best == 1.0);
    CHECK(patient.state().best_epoch == 0);
    // Improvements reset the wait; patience 0 stops at the first epoch without one, never at epoch 0.
    nnfuse::early_stopping impatient({.monitor = "loss"});
    CHECK(stop_epoch(impatient, net, {5, 4, 3, 3.5, 1}) == 3u);
    CHECK(stop_epoch(impatient, net, {not_a_number, 1}) == std::nullopt);
    CHECK(stop_epoch(impatient, net, {1, not_a_number}) == 1u);  // NaN never improves
    // min_delta: a gain smaller than it is no improvement.
    nnfuse::early_stopping coarse({.monitor = "loss", .min_delta = 0.1, .patience = 1});
    CHECK(stop_epoch(coarse, net, {1.0, 0.95, 0.8}) == 1u);
    // mode max for accuracy.
    nnfuse::early_stopping accuracy({.monitor = "val_accuracy", .patience = 1});
    CHECK(stop_epoch(accuracy, net, {0.5, 0.6, 0.7, 0.65, 0.9}) == 3u);
    // start_from_epoch: the first epochs are not watched at all.
    nnfuse::early_stopping late({.monitor = "loss", .patience = 1, .start_from_epoch = 2});
    CHECK(stop_epoch(late, net, {1, 2, 3, 4, 5}) == 3u);
    CHECK(late.state().best_epoch == 2);
}

TEST_CASE("a baseline keeps the wait growing until a value beats it", "[callbacks][early_stopping]") {
    gen::tabular_binary_test::Net net(4);
    nnfuse::early_stopping without({.monitor = "val_loss", .patience = 2});
    nnfuse::early_stopping with({.monitor = "val_loss", .patience = 2, .baseline = 0.5});
    const std::vector<double> values = {0.8, 0.7, 0.75, 0.72};
    CHECK(stop_epoch(without, net, values) == 3u);
    CHECK(stop_epoch(with, net, values) == 2u);  // the improvements to 0.8 and 0.7 did not beat 0.5
    CHECK(stop_epoch(with, net, {0.8, 0.4, 0.45, 0.46}) == 3u);
}

TEST_CASE("restore_best_weights writes back every variable as it was at the best epoch",
          "[callbacks][early_stopping]") {
    gen::tabular_binary_test::Net net(4);
    const auto mark = [&](float value) {
        for (const auto& v : net.variables()) std::fill(v.value.begin(), v.value.end(), value);
    };
    nnfuse::early_stopping stopper({.monitor = "val_loss", .patience = 10, .restore_best_weights = true});
    stopper.begin();
    CHECK_FALSE(stopper.end(net));  // nothing copied yet
    const std::vector<double> values = {0.9, 0.5, 0.7, 0.6};
    for (std::size_t epoch = 0; epoch < values.size(); ++epoch) {
        mark(static_cast<float>(epoch) + 1);
        CHECK_FALSE(stopper.end_of_epoch(epoch, values[epoch], net));
    }
    CHECK(stopper.end(net));
    for (const auto& v : net.variables())
        for (float x : v.value) REQUIRE(x == 2.0f);  // epoch 1 (value 0.5) wrote 2
    CHECK(stopper.state().best_epoch == 1);
    // Keras copies the first watched epoch even when it does not improve (all NaN here).
    nnfuse::early_stopping first({.monitor = "val_loss", .patience = 10, .restore_best_weights = true});
    first.begin();
    mark(7);
    first.end_of_epoch(0, not_a_number, net);
    mark(8);
    first.end_of_epoch(1, not_a_number, net);
    CHECK(first.end(net));
    CHECK(net.variables()[0].value[0] == 7.0f);
    // Weights of another network are refused.
    gen::tabular_binary_test::Net other(4);
    stopper.state().best_weights.pop_back();
    CHECK_THROWS_WITH(stopper.end(other), Catch::Contains("another network"));
}

TEST_CASE("early stopping refuses a monitor whose direction it cannot tell and non-finite numbers",
          "[callbacks][early_stopping][errors]") {
    CHECK_THROWS_WITH(nnfuse::early_stopping({.monitor = "epoch_time"}), Catch::Contains("\"epoch_time\""));
    CHECK_THROWS_WITH(nnfuse::early_stopping({.min_delta = not_a_number}), Catch::Contains("min_delta"));
    CHECK_THROWS_WITH(nnfuse::early_stopping({.baseline = std::numeric_limits<double>::infinity()}),
                      Catch::Contains("baseline") && Catch::Contains("inf"));
}

TEST_CASE("ReduceLROnPlateau multiplies the rate by factor after `patience` epochs without improvement",
          "[callbacks][reduce_lr]") {
    const std::vector<double> flat = {1, 1, 1, 1, 1, 1, 1};
    nnfuse::reduce_lr_on_plateau plain({.monitor = "loss", .factor = 0.5, .patience = 2});
    CHECK(rates_after(plain, 1.0f, flat) == std::vector<float>{1, 1, 0.5f, 0.5f, 0.25f, 0.25f, 0.125f});
    // Keras's cooldown: the epoch that ends a cooldown of 2 already counts towards the next wait.
    nnfuse::reduce_lr_on_plateau cooled({.monitor = "loss", .factor = 0.5, .patience = 2, .cooldown = 2});
    CHECK(rates_after(cooled, 1.0f, flat) == std::vector<float>{1, 1, 0.5f, 0.5f, 0.5f, 0.25f, 0.25f});
    // An improvement resets the wait.
    nnfuse::reduce_lr_on_plateau reset({.monitor = "loss", .factor = 0.5, .patience = 2});
    CHECK(rates_after(reset, 1.0f, {3, 3, 2, 2, 2}) == std::vector<float>{1, 1, 1, 1, 0.5f});
    // min_lr is a floor, and a rate at the floor is left alone.
    nnfuse::reduce_lr_on_plateau floored({.monitor = "loss", .factor = 0.1, .patience = 1, .min_lr = 0.05});
    CHECK(rates_after(floored, 1.0f, {1, 1, 1, 1}) == std::vector<float>{1, 0.1f, 0.05f, 0.05f});
    // Default min_delta 1e-4: a smaller gain is no improvement.
    nnfuse::reduce_lr_on_plateau fine({.monitor = "loss", .patience = 1});
    CHECK(rates_after(fine, 1.0f, {1, 0.99995}) == std::vector<float>{1, 0.1f});
}

TEST_CASE("ReduceLROnPlateau refuses a factor that does not reduce", "[callbacks][reduce_lr][errors]") {
    CHECK_THROWS_WITH(nnfuse::reduce_lr_on_plateau({.factor = 1.0}), Catch::Contains("factor") && Catch::Contains("1"));
    CHECK_THROWS_WITH(nnfuse::reduce_lr_on_plateau({.min_lr = -1}), Catch::Contains("min_lr"));
}
