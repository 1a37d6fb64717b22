// Keras's callbacks inside fit: EarlyStopping ends the run and restores the best epoch's weights, schedules and
// ReduceLROnPlateau set the rate the history reports, and a training checkpoint carries their state so that a
// resumed run ends with the same bits as a straight one. Expected epochs and rates follow from Keras's rules.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/checkpoint/checkpoint_error.hpp"
#include "runtime/data/float_rows.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"
#include "tabular_binary_test.gen.hpp"
#include "tests/runtime/network/test_helpers.hpp"
#include "tests/support/scratch_dir.hpp"

namespace gen = nnfuse::generated;
using test_support::snapshot;

namespace {

constexpr std::size_t rows = 300, features = 5, batch_size = 32;
constexpr std::size_t batches_per_epoch = 8;  // 240 training rows (validation_split 0.2) in batches of 32

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Rows whose target is 1 when x0 + x1 > 0, with every 7th target flipped, so that validation loss turns up again.
struct binary_problem {
    std::vector<float> x = test_support::random_values(rows * features, 5);
    std::vector<float> t;
    binary_problem() {
        for (std::size_t r = 0; r < rows; ++r) t.push_back((x[r * features] + x[r * features + 1] > 0) != (r % 7 == 0));
    }
    nnfuse::float_rows set() const { return nnfuse::float_rows(x, features, t, 1); }
};

struct run {
    gen::tabular_binary_test::Net net{64};
    nnfuse::adam optimizer{0.05f};
    nnfuse::trainer trainer{net, optimizer};
    run() { nnfuse::initialize_variables(net, 42); }
};

nnfuse::fit_options options_for(std::size_t epochs) {
    nnfuse::fit_options options;
    options.epochs = epochs;
    options.batch_size = batch_size;
    options.validation_split = 0.2;
    return options;
}

}  // namespace

TEST_CASE("early stopping ends fit after patience epochs without improvement and says so as Keras",
          "[callbacks][early_stopping]") {
    const binary_problem problem;
    run r;
    // No later loss beats the first by 10: epoch 0 is the best, epochs 1 and 2 wait, epoch 2 stops.
    nnfuse::early_stopping stopper({.monitor = "loss", .min_delta = 10, .patience = 2});
    std::ostringstream log;
    nnfuse::fit_options options = options_for(20);
    options.early_stop = &stopper;
    options.log = &log;
    const nnfuse::history history = r.trainer.fit(problem.set(), options);
    CHECK(history.epochs() == 3);
    CHECK(stopper.stopped());
    CHECK(stopper.state().stopped_epoch == 2);
    CHECK(log.str().find("Epoch 3: early stopping\n") != std::string::npos);
    CHECK(log.str().find("Restoring") == std::string::npos);
    CHECK(log.str().find("Epoch 4/20") == std::string::npos);
    // A second fit from epoch 0 starts the callback afresh (Keras's on_train_begin).
    CHECK(r.trainer.fit(problem.set(), options).epochs() == 3);
}

TEST_CASE("restore_best_weights leaves the weights of the epoch with the best val_loss",
          "[callbacks][early_stopping]") {
    const binary_problem problem;
    run r;
    nnfuse::early_stopping stopper({.monitor = "val_loss", .patience = 100, .restore_best_weights = true});
    std::vector<std::vector<float>> weights_after_epoch;
    nnfuse::fit_options options = options_for(12);
    options.early_stop = &stopper;
    options.on_epoch_end = [&](std::size_t, const nnfuse::history&) { weights_after_epoch.push_back(snapshot(r.net)); };
    std::ostringstream log;
    options.log = &log;
    const nnfuse::history history = r.trainer.fit(problem.set(), options);
    REQUIRE(history.epochs() == 12);
    const auto val_loss = history.series("val_loss");
    const auto best = static_cast<std::size_t>(std::min_element(val_loss.begin(), val_loss.end()) - val_loss.begin());
    REQUIRE(best + 1 < val_loss.size());  // the problem overfits, so the best is not the last epoch
    CHECK(stopper.state().best_epoch == best);
    CHECK(same_bits(snapshot(r.net), weights_after_epoch[best]));
    CHECK(log.str().find("Restoring model weights from the end of the best epoch: " + std::to_string(best + 1) + ".") !=
          std::string::npos);
}

TEST_CASE("a schedule sets each step's rate from the optimizer's step count; history reports it",
          "[callbacks][schedule]") {
    const binary_problem problem;
    run scheduled, constant, plain;
    const nnfuse::exponential_decay schedule({.initial_learning_rate = 0.05f, .decay_steps = 10, .decay_rate = 0.5});
    nnfuse::fit_options options = options_for(3);
    options.schedule = &schedule;
    const nnfuse::history history = scheduled.trainer.fit(problem.set(), options);
    const auto rates = history.series("learning_rate");
    REQUIRE(rates.size() == 3);
    for (std::size_t e = 0; e < 3; ++e) {
        // The epoch's last step is step (e + 1) * batches - 1.
        const double step = static_cast<double>((e + 1) * batches_per_epoch - 1);
        CHECK(rates[e] == Approx(0.05 * std::pow(0.5, step / 10)).epsilon(1e-6));
    }
    // A schedule that always gives the optimizer's own rate changes no bit; the decaying one does.
    const nnfuse::piecewise_constant_decay flat({}, {0.05f});
    options.schedule = &flat;
    constant.trainer.fit(problem.set(), options);
    options.schedule = nullptr;
    const nnfuse::history unscheduled = plain.trainer.fit(problem.set(), options);
    CHECK(same_bits(snapshot(constant.net), snapshot(plain.net)));
    CHECK_FALSE(same_bits(snapshot(scheduled.net), snapshot(plain.net)));
    CHECK_FALSE(unscheduled.value(0, "learning_rate").has_value());
}

TEST_CASE("ReduceLROnPlateau lowers the rate after patience epochs; the history shows the rate before the cut",
          "[callbacks][reduce_lr]") {
    const binary_problem problem;
    run r;
    nnfuse::reduce_lr_on_plateau reducer({.monitor = "loss", .factor = 0.5, .patience = 1, .min_delta = 10});
    std::ostringstream log;
    nnfuse::fit_options options = options_for(4);
    options.reduce_lr = &reducer;
    options.log = &log;
    const nnfuse::history history = r.trainer.fit(problem.set(), options);
    CHECK(history.series("learning_rate") == std::vector<double>{0.05f, 0.05f, 0.025f, 0.0125f});
    CHECK(r.optimizer.learning_rate() == 0.00625f);
    CHECK(log.str().find("Epoch 2: ReduceLROnPlateau reducing learning rate to 0.02500000037252903.") !=
          std::string::npos);
}

TEST_CASE("fit refuses callbacks it cannot honour, naming what is wrong", "[callbacks][errors]") {
    const binary_problem problem;
    run r;
    nnfuse::early_stopping stopper;  // val_loss
    nnfuse::fit_options options = options_for(3);
    options.validation_split = 0.0;
    options.early_stop = &stopper;
    CHECK_THROWS_WITH(r.trainer.fit(problem.set(), options),
                      Catch::Contains("\"val_loss\"") && Catch::Contains("report loss, binary_accuracy;") &&
                          Catch::Contains("need validation_data or validation_split"));
    nnfuse::early_stopping misspelled({.monitor = "val_acuracy", .mode = nnfuse::monitor_mode::max});
    options = options_for(3);
    options.early_stop = &misspelled;
    CHECK_THROWS_WITH(r.trainer.fit(problem.set(), options),
                      Catch::Contains("\"val_acuracy\"") && Catch::Contains("val_binary_accuracy"));
    const nnfuse::cosine_decay schedule(0.05f, 100);
    nnfuse::reduce_lr_on_plateau reducer;
    options = options_for(3);
    options.schedule = &schedule;
    options.reduce_lr = &reducer;
    CHECK_THROWS_WITH(r.trainer.fit(problem.set(), options), Catch::Contains("give one of them"));
}

TEST_CASE("a checkpoint carries the callbacks: a resumed run ends with the same bits as a straight one",
          "[callbacks][checkpoint]") {
    const binary_problem problem;
    const nnfuse::test::scratch_dir dir("callbacks");
    const auto file = dir / "run.safetensors";
    constexpr std::size_t epochs = 10, saved_after = 4;
    const auto callbacks_for = [](nnfuse::early_stopping& stopper, nnfuse::reduce_lr_on_plateau& reducer) {
        return nnfuse::callback_set{.early_stop = &stopper, .reduce_lr = &reducer};
    };
    const auto early_options =
        nnfuse::early_stopping_options{.monitor = "val_loss", .patience = 4, .restore_best_weights = true};
    const auto reduce_options =
        nnfuse::reduce_lr_on_plateau_options{.monitor = "val_loss", .factor = 0.5, .patience = 1};

    run straight;
    nnfuse::early_stopping stopper(early_options);
    nnfuse::reduce_lr_on_plateau reducer(reduce_options);
    nnfuse::fit_options options = options_for(epochs);
    options.early_stop = &stopper;
    options.reduce_lr = &reducer;
    options.on_epoch_end = [&](std::size_t epoch, const nnfuse::history&) {
        if (epoch + 1 == saved_after) {
            nnfuse::save_training_checkpoint(file, straight.net, straight.optimizer,
                                             {.epochs_done = epoch + 1, .seed = options.seed}, {},
                                             callbacks_for(stopper, reducer));
        }
    };
    const nnfuse::history straight_history = straight.trainer.fit(problem.set(), options);
    REQUIRE(straight_history.epochs() > saved_after);
    REQUIRE(straight.optimizer.learning_rate() < 0.05f);  // the reducer acted

    run resumed;
    nnfuse::early_stopping stopper2(early_options);
    nnfuse::reduce_lr_on_plateau reducer2(reduce_options);
    const auto loaded =
        nnfuse::load_training_checkpoint(file, resumed.net, resumed.optimizer, callbacks_for(stopper2, reducer2));
    options.early_stop = &stopper2;
    options.reduce_lr = &reducer2;
    options.on_epoch_end = nullptr;
    options.initial_epoch = loaded.progress.epochs_done;
    const nnfuse::history resumed_history = resumed.trainer.fit(problem.set(), options);
    CHECK(resumed_history.epochs() + saved_after == straight_history.epochs());
    CHECK(same_bits(snapshot(resumed.net), snapshot(straight.net)));
    CHECK(resumed.optimizer.learning_rate() == straight.optimizer.learning_rate());
    CHECK(stopper2.state().best_epoch == stopper.state().best_epoch);
    CHECK(stopper2.state().stopped_epoch == stopper.state().stopped_epoch);
    CHECK(resumed_history.series("val_loss").back() == straight_history.series("val_loss").back());

    // Without the callbacks' state the resumed run differs: the control experiment.
    run forgetful;
    nnfuse::early_stopping stopper3(early_options);
    nnfuse::reduce_lr_on_plateau reducer3(reduce_options);
    nnfuse::load_training_checkpoint(file, forgetful.net, forgetful.optimizer);
    options.early_stop = &stopper3;
    options.reduce_lr = &reducer3;
    forgetful.trainer.fit(problem.set(), options);
    CHECK_FALSE(same_bits(snapshot(forgetful.net), snapshot(straight.net)));

    // A checkpoint saved with another monitor cannot continue this one.
    nnfuse::early_stopping other_monitor({.monitor = "val_binary_accuracy"});
    CHECK_THROWS_WITH(
        nnfuse::load_training_checkpoint(file, forgetful.net, forgetful.optimizer, {.early_stop = &other_monitor}),
        Catch::Contains("run.safetensors") && Catch::Contains("\"val_loss\"") &&
            Catch::Contains("\"val_binary_accuracy\""));
}

TEST_CASE("a run resumed after early stopping had stopped it trains nothing and keeps the best weights",
          "[callbacks][checkpoint]") {
    const binary_problem problem;
    const nnfuse::test::scratch_dir dir("callbacks");
    const auto file = dir / "stopped.safetensors";
    run straight;
    nnfuse::early_stopping stopper({.monitor = "loss", .min_delta = 10, .patience = 1, .restore_best_weights = true});
    nnfuse::fit_options options = options_for(10);
    options.early_stop = &stopper;
    std::size_t last_epoch = 0;
    options.on_epoch_end = [&](std::size_t epoch, const nnfuse::history&) {
        last_epoch = epoch;
        nnfuse::save_training_checkpoint(file, straight.net, straight.optimizer,
                                         {.epochs_done = epoch + 1, .seed = options.seed}, {},
                                         {.early_stop = &stopper});
    };
    straight.trainer.fit(problem.set(), options);
    REQUIRE(last_epoch == 1);

    run resumed;
    nnfuse::early_stopping stopper2({.monitor = "loss", .min_delta = 10, .patience = 1, .restore_best_weights = true});
    const auto loaded =
        nnfuse::load_training_checkpoint(file, resumed.net, resumed.optimizer, {.early_stop = &stopper2});
    CHECK(stopper2.stopped());
    options.early_stop = &stopper2;
    options.on_epoch_end = nullptr;
    options.initial_epoch = loaded.progress.epochs_done;
    CHECK(resumed.trainer.fit(problem.set(), options).epochs() == 0);
    CHECK(same_bits(snapshot(resumed.net), snapshot(straight.net)));
}
