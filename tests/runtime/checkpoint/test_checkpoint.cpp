// Network checkpoints on generated Nets: what a file holds, loads that refuse a file listing every
// mismatch, exact resume (3 epochs straight == 2 epochs, a save, a fresh process state, 1 more), and the
// NaN guard of the moving averages (non-finite batch statistics never enter them; the trainer's guard of the loss
// is tested in tests/runtime/train/test_trainer.cpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "bn_before_activation_test.gen.hpp"
#include "cumulative_bn_test.gen.hpp"
#include "fashion_mnist.gen.hpp"
#include "fashion_mnist_torch.gen.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/checkpoint/checkpoint_error.hpp"
#include "runtime/checkpoint/safetensors.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"
#include "tests/runtime/checkpoint/checkpoint_test_support.hpp"
#include "tests/runtime/network/test_helpers.hpp"
#include "two_bn_test.gen.hpp"

namespace gen = nnfuse::generated;
using checkpoint_test::scratch_dir;
using checkpoint_test::snapshot;
using checkpoint_test::state_snapshot;
using checkpoint_test::variable;

namespace {

// A Net trained for one batch, so that no variable holds its initial constant.
template <class Net>
std::unique_ptr<Net> trained_net(std::uint64_t seed) {
    auto net = std::make_unique<Net>(8);
    nnfuse::initialize_variables(*net, seed);
    const auto x = test_support::random_values(8 * Net::input_size_per_sample, static_cast<std::uint32_t>(seed));
    const auto labels = test_support::random_labels(8, Net::classes, static_cast<std::uint32_t>(seed) + 1);
    net->train_batch(x.data(), labels.data(), 8);
    return net;
}

std::unique_ptr<nnfuse::optimizer> make_optimizer(const std::string& kind) {
    if (kind == "adam") return std::make_unique<nnfuse::adam>(1e-2f);
    if (kind == "sgd momentum") return std::make_unique<nnfuse::sgd>(0.05f, 0.9f);
    return std::make_unique<nnfuse::sgd>(0.05f, 0.9f, /*nesterov=*/true);
}

// Trains 3 epochs straight, and 2 epochs + checkpoint + (fresh Net and optimizer) + resume for 1; returns
// both final states. `resume_from_checkpoint` false reloads the weights only (the control experiment).
template <class Net>
std::pair<state_snapshot, state_snapshot> straight_and_resumed(const std::string& optimizer_kind,
                                                               bool resume_from_checkpoint) {
    const std::size_t side = Net::input_size_per_sample == 784 ? 28 : Net::input_size_per_sample;
    const auto data = test_support::random_images(61, side, Net::input_size_per_sample / side, Net::classes, 9);
    nnfuse::fit_options options;
    options.epochs = 3;
    options.batch_size = 8;
    options.seed = 1234;

    Net straight_net(9);
    nnfuse::initialize_variables(straight_net, 5);
    auto straight_opt = make_optimizer(optimizer_kind);
    nnfuse::trainer(straight_net, *straight_opt).fit(data, options);

    scratch_dir dir;
    const auto file = dir / "resume.safetensors";
    {
        Net net(9);
        nnfuse::initialize_variables(net, 5);
        auto opt = make_optimizer(optimizer_kind);
        nnfuse::fit_options first = options;
        first.epochs = 2;
        first.on_epoch_end = [&](std::size_t epoch, const nnfuse::history&) {
            nnfuse::save_training_checkpoint(file, net, *opt, {epoch + 1, first.seed});
        };
        nnfuse::trainer(net, *opt).fit(data, first);
    }
    Net resumed_net(9);
    nnfuse::initialize_variables(resumed_net, 77);  // other initial values: the checkpoint must overwrite them all
    auto resumed_opt = make_optimizer(optimizer_kind);
    nnfuse::fit_options rest = options;
    if (resume_from_checkpoint) {
        const auto loaded = nnfuse::load_training_checkpoint(file, resumed_net, *resumed_opt);
        CHECK(loaded.progress.epochs_done == 2);
        CHECK(loaded.progress.seed == 1234);
        rest.initial_epoch = loaded.progress.epochs_done;
        rest.seed = loaded.progress.seed;
    } else {
        nnfuse::load_weights(file, resumed_net);
        rest.initial_epoch = 2;
    }
    nnfuse::trainer(resumed_net, *resumed_opt).fit(data, rest);
    return {snapshot(straight_net, straight_opt.get()), snapshot(resumed_net, resumed_opt.get())};
}

}  // namespace

TEST_CASE("a weights checkpoint holds the variables under their Keras names, and the model's description",
          "[checkpoint]") {
    scratch_dir dir;
    auto net = trained_net<gen::fashion_mnist::Net>(3);
    nnfuse::save_weights(dir / "w.safetensors", *net);
    const auto file = nnfuse::read_safetensors(dir / "w.safetensors");

    std::vector<std::string> names;
    for (const auto& [name, tensor] : file.tensors()) names.push_back(name);
    CHECK(names == std::vector<std::string>{"batch_normalization/beta:0", "batch_normalization/gamma:0",
                                            "batch_normalization/moving_mean:0",
                                            "batch_normalization/moving_variance:0", "dense/bias:0", "dense/kernel:0",
                                            "dense_1/bias:0", "dense_1/kernel:0"});
    CHECK(file.tensors().at("dense/kernel:0").shape == std::vector<std::uint64_t>{784, 20});
    CHECK(file.tensors().at("dense_1/bias:0").shape == std::vector<std::uint64_t>{10});
    CHECK(file.tensors().at("batch_normalization/moving_variance:0").dtype == "F32");
    const auto kernel = variable(*net, "dense/kernel:0");
    CHECK(file.data(file.tensors().at("dense/kernel:0")) ==
          std::string_view(reinterpret_cast<const char*>(kernel.data()), kernel.size_bytes()));

    const auto& meta = file.metadata();
    CHECK(meta.at("content") == "weights");
    CHECK(meta.at("model") == "fashion_mnist");
    CHECK(meta.at("bn_profiles") == "batch_normalization=keras");
    CHECK(meta.at("schema") == "nnfuse.checkpoint/1");
    CHECK_FALSE(meta.at("nnfuse_version").empty());
    CHECK_THAT(meta.at("architecture"),
               Catch::Contains("batch_normalization (BatchNormalization) (None, 784) profile=keras") &&
                   Catch::Contains("dense_1 (Dense) (None, 10)"));
}

TEST_CASE("weights load back bit for bit", "[checkpoint]") {
    scratch_dir dir;
    auto saved = trained_net<gen::two_bn_test::Net>(4);
    nnfuse::save_weights(dir / "w.safetensors", *saved);
    auto loaded = trained_net<gen::two_bn_test::Net>(99);
    REQUIRE_FALSE(snapshot(*loaded).values == snapshot(*saved).values);
    nnfuse::load_weights(dir / "w.safetensors", *loaded);
    for (const auto& v : saved->variables()) {
        INFO(v.name);
        CHECK(std::memcmp(variable(*loaded, v.name).data(), v.value.data(), v.value.size_bytes()) == 0);
    }
}

TEST_CASE("a file that does not fit the model is refused with every mismatch listed, and nothing changes",
          "[checkpoint]") {
    scratch_dir dir;
    auto net = trained_net<gen::fashion_mnist::Net>(3);
    const auto before = snapshot(*net);

    SECTION("missing, extra and mis-shaped variables in one message") {
        // Hand-made from the model's own variables: two dropped, one transposed, one added.
        std::vector<nnfuse::tensor_to_write> tensors;
        for (const auto& v : net->variables()) {
            if (v.name == "dense/bias:0" || v.name == "batch_normalization/beta:0") continue;
            std::vector<std::uint64_t> shape = {v.value.size()};
            if (v.name == "dense/kernel:0") shape = {784, 20};
            if (v.name == "dense_1/kernel:0") shape = {10, 20};
            tensors.push_back({std::string(v.name), "F32", shape, std::as_bytes(v.value)});
        }
        const std::vector<float> extra(5, 1.0f);
        tensors.push_back({"dense_2/kernel:0", "F32", {5}, std::as_bytes(std::span(extra))});
        const auto file = dir / "bad.safetensors";
        checkpoint_test::write_all(file, nnfuse::serialize_safetensors(tensors, {}));

        CHECK_THROWS_WITH(
            nnfuse::load_weights(file, *net),
            Catch::StartsWith(file.string() + ": does not fit model fashion_mnist: ") &&
                Catch::Contains("2 missing: `batch_normalization/beta:0`, `dense/bias:0`") &&
                Catch::Contains(
                    "1 of the wrong dtype or shape: `dense_1/kernel:0` (file F32 (10, 20), model F32 (20, 10))") &&
                Catch::Contains("1 not in the model: `dense_2/kernel:0`"));
        CHECK(snapshot(*net) == before);
    }
    SECTION("another model's checkpoint") {
        auto other = trained_net<gen::two_bn_test::Net>(1);
        nnfuse::save_weights(dir / "other.safetensors", *other);
        CHECK_THROWS_WITH(nnfuse::load_weights(dir / "other.safetensors", *net),
                          Catch::Contains("`batch_normalization/gamma:0` (file F32 (4,), model F32 (784,))") &&
                              Catch::Contains("`dense/kernel:0` (file F32 (12, 6), model F32 (784, 20))") &&
                              Catch::Contains("not in the model: `batch_normalization_1/gamma:0`"));
        CHECK(snapshot(*net) == before);
    }
    SECTION("the wrong dtype") {
        std::vector<nnfuse::tensor_to_write> tensors;
        std::vector<std::vector<double>> widened;
        for (const auto& v : net->variables()) {
            if (v.name == "dense_1/bias:0") {
                widened.emplace_back(v.value.begin(), v.value.end());
                tensors.push_back(
                    {std::string(v.name), "F64", {v.value.size()}, std::as_bytes(std::span(widened.back()))});
            } else {
                const std::vector<std::uint64_t> shape =
                    v.name == "dense/kernel:0"     ? std::vector<std::uint64_t>{784, 20}
                    : v.name == "dense_1/kernel:0" ? std::vector<std::uint64_t>{20, 10}
                                                   : std::vector<std::uint64_t>{v.value.size()};
                tensors.push_back({std::string(v.name), "F32", shape, std::as_bytes(v.value)});
            }
        }
        checkpoint_test::write_all(dir / "f64.safetensors", nnfuse::serialize_safetensors(tensors, {}));
        CHECK_THROWS_WITH(
            nnfuse::load_weights(dir / "f64.safetensors", *net),
            Catch::EndsWith("1 of the wrong dtype or shape: `dense_1/bias:0` (file F64 (10,), model F32 (10,))"));
        CHECK(snapshot(*net) == before);
    }
    SECTION("a defective file") {
        checkpoint_test::write_all(dir / "junk.safetensors", "not a checkpoint at all");
        CHECK_THROWS_WITH(nnfuse::load_weights(dir / "junk.safetensors", *net),
                          Catch::StartsWith((dir / "junk.safetensors").string() + ": header length"));
        CHECK(snapshot(*net) == before);
    }
}

TEST_CASE("a training checkpoint holds the optimizer, counters, epoch and seed; resuming refuses what cannot resume",
          "[checkpoint][resume]") {
    scratch_dir dir;
    auto net = trained_net<gen::two_bn_test::Net>(3);
    nnfuse::adam opt(1e-3f);
    const auto file = dir / "t.safetensors";
    nnfuse::save_training_checkpoint(file, *net, opt, {4, 17}, {{"optimizer", "adam"}});
    const auto contents = nnfuse::read_safetensors(file);
    CHECK(contents.metadata().at("content") == "training");
    CHECK(contents.metadata().at("epochs_done") == "4");
    CHECK(contents.metadata().at("seed") == "17");
    CHECK(contents.metadata().at("optimizer") == "adam");
    CHECK(contents.metadata().at("bn_profiles") == "batch_normalization=torch,batch_normalization_1=keras");
    CHECK(contents.tensors().at("optimizer/dense/kernel:0/m").shape == std::vector<std::uint64_t>{12, 6});
    CHECK(contents.tensors().at("optimizer/dense_1/bias:0/v").shape == std::vector<std::uint64_t>{4});
    const auto& iterations = contents.tensors().at("optimizer/iterations");
    CHECK(iterations.dtype == "I64");
    CHECK(iterations.shape.empty());
    const auto& seen = contents.tensors().at("training/batch_normalization_1/batches_seen");
    CHECK(seen.dtype == "I64");
    std::int64_t count = 0;
    std::memcpy(&count, contents.data(seen).data(), 8);
    CHECK(count == 1);  // trained_net trains one batch

    SECTION("weights load from it") {
        auto other = trained_net<gen::two_bn_test::Net>(8);
        nnfuse::load_weights(file, *other);
        CHECK(snapshot(*other).values.at("dense/kernel:0") == snapshot(*net).values.at("dense/kernel:0"));
    }
    SECTION("another optimizer's slots are listed") {
        auto other = trained_net<gen::two_bn_test::Net>(8);
        nnfuse::sgd momentum(0.1f, 0.9f);
        CHECK_THROWS_WITH(nnfuse::load_training_checkpoint(file, *other, momentum),
                          Catch::Contains("missing: `optimizer/batch_normalization/gamma:0/momentum`") &&
                              Catch::Contains("`optimizer/dense_1/bias:0/momentum`") &&
                              Catch::Contains("not in the model: `optimizer/batch_normalization/beta:0/m`"));
    }
    SECTION("a weights-only file cannot resume") {
        nnfuse::save_weights(dir / "w.safetensors", *net);
        nnfuse::adam fresh;
        CHECK_THROWS_WITH(nnfuse::load_training_checkpoint(dir / "w.safetensors", *net, fresh),
                          Catch::Contains("holds no training state (__metadata__ \"content\" is \"weights\")"));
    }
    SECTION("another architecture cannot resume, even with the same variables") {
        auto keras = trained_net<gen::fashion_mnist::Net>(1);
        nnfuse::sgd plain;
        nnfuse::save_training_checkpoint(dir / "keras.safetensors", *keras, plain, {1, 1});
        auto torch = trained_net<gen::fashion_mnist_torch::Net>(1);
        const auto before = snapshot(*torch);
        nnfuse::sgd plain2;
        CHECK_THROWS_WITH(
            nnfuse::load_training_checkpoint(dir / "keras.safetensors", *torch, plain2),
            Catch::Contains("was saved from another architecture") && Catch::Contains("profile=keras") &&
                Catch::Contains(
                    "where the model has \"batch_normalization (BatchNormalization) (None, 784) profile=torch"));
        CHECK(snapshot(*torch) == before);
    }
}

TEST_CASE("training 3 epochs straight and 2 + resume + 1 give bit-identical state", "[checkpoint][resume]") {
    SECTION("reference model, SGD with momentum") {
        const auto [straight, resumed] = straight_and_resumed<gen::fashion_mnist::Net>("sgd momentum", true);
        CHECK(straight == resumed);
    }
    SECTION("reference model, Adam") {
        const auto [straight, resumed] = straight_and_resumed<gen::fashion_mnist::Net>("adam", true);
        CHECK(straight == resumed);
    }
    SECTION("torch's cumulative average (the batch counters matter), Adam") {
        const auto [straight, resumed] = straight_and_resumed<gen::cumulative_bn_test::Net>("adam", true);
        CHECK(straight == resumed);
    }
    SECTION("two BN layers, Nesterov") {
        const auto [straight, resumed] = straight_and_resumed<gen::two_bn_test::Net>("nesterov", true);
        CHECK(straight == resumed);
    }
    SECTION("control: resuming from the weights alone does not reproduce the run") {
        const auto [straight, resumed] = straight_and_resumed<gen::fashion_mnist::Net>("adam", false);
        CHECK(straight.values.at("dense/kernel:0") != resumed.values.at("dense/kernel:0"));
    }
}

TEST_CASE("non-finite batch statistics never enter the moving averages", "[checkpoint][nan]") {
    const auto check_profile = [](auto net) {
        nnfuse::initialize_variables(*net, 2);
        auto x = test_support::random_values(4 * 784, 3);
        const auto labels = test_support::random_labels(4, 10, 4);
        net->train_batch(x.data(), labels.data(), 4);  // moves the averages off their initial 0 and 1
        const auto mean = variable(*net, "batch_normalization/moving_mean:0");
        const auto var = variable(*net, "batch_normalization/moving_variance:0");
        const std::vector<float> mean_before(mean.begin(), mean.end()), var_before(var.begin(), var.end());

        x[1 * 784 + 5] = std::numeric_limits<float>::quiet_NaN();
        x[2 * 784 + 9] = std::numeric_limits<float>::infinity();
        x[0 * 784 + 700] = -std::numeric_limits<float>::infinity();
        const auto result = net->train_batch(x.data(), labels.data(), 4);
        CHECK_FALSE(std::isfinite(result.loss_sum));
        for (std::size_t c : {5u, 9u, 700u}) {
            INFO("feature " << c);
            CHECK(std::memcmp(&mean[c], &mean_before[c], sizeof(float)) == 0);
            CHECK(std::memcmp(&var[c], &var_before[c], sizeof(float)) == 0);
        }
        std::size_t moved = 0;
        for (std::size_t c = 0; c < 784; ++c) {
            CHECK(std::isfinite(mean[c]));
            CHECK(std::isfinite(var[c]));
            moved += mean[c] != mean_before[c] ? 1 : 0;
        }
        CHECK(moved > 700);  // the finite features still learn from the batch
    };
    SECTION("keras profile") { check_profile(std::make_unique<gen::fashion_mnist::Net>(4)); }
    SECTION("torch profile") { check_profile(std::make_unique<gen::fashion_mnist_torch::Net>(4)); }
}
