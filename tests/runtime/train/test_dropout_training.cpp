// Training a model with dropout layers: it learns, its masks follow (seed, step) and nothing else (any number of
// threads gives the same bits), fit seeds it and takes one step per batch, and a training checkpoint resumes it
// bit-exact, also from a file written before checkpoints held the random state.
#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "dropout_edges_test.gen.hpp"
#include "dropout_mlp_test.gen.hpp"
#include "fashion_mnist.gen.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/checkpoint/safetensors.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"
#include "tests/runtime/checkpoint/checkpoint_test_support.hpp"
#include "tests/runtime/network/test_helpers.hpp"

namespace gen = nnfuse::generated;
using checkpoint_test::scratch_dir;
using checkpoint_test::snapshot;

namespace {

// 8x8 images whose class c lights pixels 6c .. 6c + 3 over a dim random background: learnable by a dense layer.
nnfuse::labeled_images learnable_images(std::size_t count, std::uint32_t seed) {
    auto set = test_support::random_images(count, 8, 8, 10, seed);
    for (std::size_t i = 0; i < count; ++i) {
        std::uint8_t* image = set.pixels.data() + i * 64;
        for (std::size_t p = 0; p < 64; ++p) image[p] = static_cast<std::uint8_t>(image[p] % 100);
        for (std::size_t p = 0; p < 4; ++p) image[6 * set.labels[i] + p] = 255;
    }
    return set;
}

// Every variable, then the epochs' losses, as floats: equal bits are equal training.
std::vector<float> weights_and_losses(nnfuse::network& net, const nnfuse::history& history, std::size_t epochs) {
    auto all = test_support::snapshot(net);
    for (std::size_t e = 0; e < epochs; ++e) all.push_back(static_cast<float>(history.value(e, "loss").value()));
    return all;
}

// One train_batch of dropout_edges at a given random state; the gradients and the loss.
std::vector<float> step_of_edges(std::size_t threads, std::uint64_t seed, std::uint64_t step) {
    constexpr std::size_t rows = 2 * nnfuse::chunk_rows + 9;  // three chunks, the last short
    gen::dropout_edges_test::Net net(rows);
    nnfuse::initialize_variables(net, 3);
    test_support::perturb_trainables(net, 4);
    net.set_threads(threads);
    *net.randomness() = {seed, step};
    const auto x = test_support::random_values(rows * 6, 5);
    const auto labels = test_support::random_labels(rows, 5, 6);
    const auto result = net.train_batch(x.data(), labels.data(), rows);
    CHECK(net.randomness()->step == step + 1);
    std::vector<float> all{static_cast<float>(result.loss_sum)};
    for (const auto& v : net.variables()) all.insert(all.end(), v.grad.begin(), v.grad.end());
    return all;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("a model with dropout trains: the loss falls and the classes are learned", "[dropout][train]") {
    const auto data = learnable_images(400, 1);
    gen::dropout_mlp_test::Net net(33);
    nnfuse::initialize_variables(net, 2);
    nnfuse::adam optimizer(1e-2f);
    nnfuse::trainer trainer(net, optimizer);
    nnfuse::fit_options options;
    options.epochs = 6;
    options.batch_size = 32;
    const auto history = trainer.fit(data, options);
    const double first = history.value(0, "loss").value(), last = history.value(5, "loss").value();
    INFO("loss " << first << " -> " << last);
    CHECK(last < 0.5 * first);
    CHECK(trainer.evaluate(learnable_images(200, 7), 32).accuracy > 0.9);
}

TEST_CASE("dropout training is bit-identical for 1, 2 and 3 threads", "[dropout][threads]") {
    const auto data = learnable_images(300, 3);
    const auto run = [&](std::size_t threads) {
        gen::dropout_mlp_test::Net net(151);
        nnfuse::initialize_variables(net, 4);
        net.set_threads(threads);
        nnfuse::sgd optimizer(0.05f, 0.9f);
        nnfuse::fit_options options;
        options.epochs = 2;
        options.batch_size = 150;  // three chunks, the last short
        const auto history = nnfuse::trainer(net, optimizer).fit(data, options);
        CHECK(net.randomness()->step == 4);  // one per batch, whatever the threads
        return weights_and_losses(net, history, 2);
    };
    const auto one = run(1);
    for (const std::size_t threads : {std::size_t{2}, std::size_t{3}}) {
        INFO(threads << " threads");
        CHECK(same_bits(one, run(threads)));
    }
    // dropout after elu, before BN, rate 0, making the logits; gradients of one step over three chunks
    const auto serial = step_of_edges(1, 42, 5);
    CHECK(same_bits(serial, step_of_edges(2, 42, 5)));
    CHECK(same_bits(serial, step_of_edges(3, 42, 5)));
}

TEST_CASE("the masks are a function of the seed and the step; fit sets the seed and takes one step per batch",
          "[dropout][random]") {
    const auto reference = step_of_edges(1, 42, 5);
    CHECK(same_bits(reference, step_of_edges(1, 42, 5)));        // the same state: the same step
    CHECK_FALSE(same_bits(reference, step_of_edges(1, 43, 5)));  // another seed
    CHECK_FALSE(same_bits(reference, step_of_edges(1, 42, 6)));  // another step

    gen::dropout_mlp_test::Net net(33);
    nnfuse::initialize_variables(net, 2);
    REQUIRE(net.randomness() != nullptr);
    CHECK(net.randomness()->step == 0);
    nnfuse::sgd optimizer(0.01f);
    nnfuse::trainer trainer(net, optimizer);
    nnfuse::fit_options options;
    options.epochs = 2;
    options.batch_size = 32;
    options.seed = 987;
    trainer.fit(learnable_images(97, 8), options);  // batches of 32, 32, 33: three per epoch
    CHECK(net.randomness()->seed == 987);
    CHECK(net.randomness()->step == 6);
    CHECK(optimizer.iterations() == 6);
    // evaluation and prediction take no step
    trainer.evaluate(learnable_images(50, 9), 16);
    trainer.predict(learnable_images(50, 9), 16);
    CHECK(net.randomness()->step == 6);

    gen::fashion_mnist::Net without(4);  // no dropout: no random state to seed or to save
    CHECK(without.randomness() == nullptr);
    scratch_dir dir;
    nnfuse::sgd without_opt(0.01f);
    nnfuse::save_training_checkpoint(dir / "without.safetensors", without, without_opt, {1, 42});
    const auto metadata = nnfuse::read_safetensors(dir / "without.safetensors").metadata();
    CHECK(metadata.count("seed") == 1);
    CHECK(metadata.count("random_seed") == 0);
    CHECK(metadata.count("random_step") == 0);
}

TEST_CASE("dropout: 3 epochs straight and 2 + checkpoint + resume + 1 give bit-identical state", "[dropout][resume]") {
    const auto data = learnable_images(61, 10);
    nnfuse::fit_options options;
    options.epochs = 3;
    options.batch_size = 8;
    options.seed = 1234;
    gen::dropout_mlp_test::Net straight_net(9);
    nnfuse::initialize_variables(straight_net, 5);
    nnfuse::adam straight_opt(1e-2f);
    nnfuse::trainer(straight_net, straight_opt).fit(data, options);

    scratch_dir dir;
    const auto file = dir / "dropout.safetensors";
    {
        gen::dropout_mlp_test::Net net(9);
        nnfuse::initialize_variables(net, 5);
        nnfuse::adam opt(1e-2f);
        nnfuse::fit_options first = options;
        first.epochs = 2;
        first.on_epoch_end = [&](std::size_t epoch, const nnfuse::history&) {
            nnfuse::save_training_checkpoint(file, net, opt, {epoch + 1, first.seed});
        };
        nnfuse::trainer(net, opt).fit(data, first);
    }
    const nnfuse::safetensors_file saved = nnfuse::read_safetensors(file);
    CHECK(saved.metadata().at("random_seed") == "1234");
    CHECK(saved.metadata().at("random_step") == "16");  // 2 epochs of 8 batches (7 of 8 rows, one of 5)

    // A fresh Net and optimizer, other initial values and another random state: the checkpoint sets them all.
    const auto resume = [&](const std::filesystem::path& from, bool keep_step) {
        gen::dropout_mlp_test::Net net(9);
        nnfuse::initialize_variables(net, 77);
        *net.randomness() = {5, 999};
        nnfuse::adam opt(1e-2f);
        const auto loaded = nnfuse::load_training_checkpoint(from, net, opt);
        if (!keep_step) net.randomness()->step = 0;
        nnfuse::fit_options rest = options;
        rest.initial_epoch = loaded.progress.epochs_done;
        rest.seed = loaded.progress.seed;
        nnfuse::trainer(net, opt).fit(data, rest);
        return snapshot(net, &opt);
    };
    const auto straight = snapshot(straight_net, &straight_opt);
    CHECK(straight.values.at("random") == "1234 24");
    CHECK(resume(file, true) == straight);
    // control: the same resume with the masks of steps 0.. instead of 16.. does not reproduce the run
    const auto restarted = resume(file, false);
    CHECK(restarted.values.at("dense/kernel:0") != straight.values.at("dense/kernel:0"));

    SECTION("a checkpoint written before random states were saved: seed from \"seed\", step from the iterations") {
        std::map<std::string, std::string> metadata = saved.metadata();
        metadata.erase("random_seed");
        metadata.erase("random_step");
        std::vector<nnfuse::tensor_to_write> tensors;
        for (const auto& [name, tensor] : saved.tensors()) {
            const std::string_view bytes = saved.data(tensor);
            tensors.push_back({name, tensor.dtype, tensor.shape, std::as_bytes(std::span(bytes.data(), bytes.size()))});
        }
        const auto old_file = dir / "old.safetensors";
        checkpoint_test::write_all(old_file, nnfuse::serialize_safetensors(tensors, metadata));
        gen::dropout_mlp_test::Net net(9);
        nnfuse::adam opt(1e-2f);
        nnfuse::load_training_checkpoint(old_file, net, opt);
        CHECK(net.randomness()->seed == 1234);
        CHECK(net.randomness()->step == 16);
        CHECK(resume(old_file, true) == straight);
    }
}

TEST_CASE("each row of a batch draws its own mask, across chunks too; a training forward takes no step",
          "[dropout][random]") {
    constexpr std::size_t rows = nnfuse::chunk_rows + 2;
    gen::dropout_mlp_test::Net net(rows);
    nnfuse::initialize_variables(net, 51);
    *net.randomness() = {8, 3};
    // every row the same sample: rows differ after the dropout layers only by their masks
    const auto sample = test_support::random_values(64, 52, 1.0f, 2.0f);
    std::vector<float> x;
    for (std::size_t r = 0; r < rows; ++r) x.insert(x.end(), sample.begin(), sample.end());
    const float* logits = net.forward<nnfuse::mode::train>(x.data(), rows);
    const auto row = [&](std::size_t r) { return std::vector<float>(logits + r * 10, logits + (r + 1) * 10); };
    const auto first = row(0);
    CHECK_FALSE(same_bits(first, row(1)));                   // the next row, same chunk
    CHECK_FALSE(same_bits(first, row(nnfuse::chunk_rows)));  // the first row of the next chunk
    CHECK_FALSE(same_bits(row(1), row(nnfuse::chunk_rows + 1)));
    CHECK(net.randomness()->step == 3);
    // the same state again: the same masks
    const float* again = net.forward<nnfuse::mode::train>(x.data(), rows);
    CHECK(same_bits(first, std::vector<float>(again, again + 10)));
}
