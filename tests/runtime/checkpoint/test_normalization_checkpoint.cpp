// A normalization layer's statistics in checkpoints: mean and variance as (features,) tensors and count as a scalar
// (shape (), as Keras's), saved and restored bit for bit by weights and training checkpoints alike, so a model
// adapted and trained once predicts new rows with the training rows' statistics after a reload.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "normalized_binary_test.gen.hpp"
#include "normalized_rows_test.gen.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/checkpoint/checkpoint_error.hpp"
#include "runtime/checkpoint/safetensors.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/train/adapt.hpp"
#include "runtime/train/initialize.hpp"
#include "tests/runtime/checkpoint/checkpoint_test_support.hpp"

namespace gen = nnfuse::generated;
using checkpoint_test::scratch_dir;
using checkpoint_test::snapshot;
using checkpoint_test::variable;

namespace {

std::vector<float> random_rows(std::size_t values, std::uint32_t seed) {
    std::mt19937 engine(seed);
    std::normal_distribution<float> normal(3.0f, 2.5f);
    std::vector<float> x(values);
    for (float& v : x) v = normal(engine);
    return x;
}

// A Net adapted to random rows (seeded) and trained for one step: no variable holds its initial value.
template <class Net>
void adapt_and_train(Net& net, std::uint32_t seed) {
    nnfuse::initialize_variables(net, seed);
    const std::size_t rows = 16;
    const std::vector<float> x = random_rows(rows * net.input_size(), seed);
    nnfuse::adapt(net, x.data(), rows - seed % 4);
    std::vector<float> targets(rows * Net::targets_per_sample, 1.0f);
    net.train_batch(x.data(), targets.data(), rows);
}

}  // namespace

TEST_CASE("a weights checkpoint holds the normalization statistics, count as a scalar", "[checkpoint][normalization]") {
    scratch_dir dir;
    gen::normalized_binary_test::Net net(16);
    adapt_and_train(net, 1);
    nnfuse::save_weights(dir / "w.safetensors", net);
    const auto file = nnfuse::read_safetensors(dir / "w.safetensors");
    CHECK(file.tensors().at("normalization/mean:0").shape == std::vector<std::uint64_t>{30});
    CHECK(file.tensors().at("normalization/variance:0").shape == std::vector<std::uint64_t>{30});
    CHECK(file.tensors().at("normalization/count:0").shape.empty());
    CHECK(file.tensors().at("normalization/count:0").dtype == "F32");
    float count = 0;
    const auto bytes = file.data(file.tensors().at("normalization/count:0"));
    REQUIRE(bytes.size() == sizeof count);
    std::memcpy(&count, bytes.data(), sizeof count);
    CHECK(count == 15.0f);  // adapt_and_train(1) adapts to 16 - 1 rows
    CHECK_THAT(file.metadata().at("architecture"), Catch::Contains("normalization (Normalization) (None, 30)"));
}

TEST_CASE("normalization statistics load back bit for bit, weights and training checkpoints",
          "[checkpoint][normalization]") {
    scratch_dir dir;
    gen::normalized_rows_test::Net saved(16), loaded(16);
    adapt_and_train(saved, 2);
    adapt_and_train(loaded, 7);
    REQUIRE_FALSE(snapshot(loaded).values == snapshot(saved).values);
    const auto check_same = [&] {
        for (const char* name : {"normalization/mean:0", "normalization/variance:0", "normalization/count:0"}) {
            INFO(name);
            const auto want = variable(saved, name), got = variable(loaded, name);
            REQUIRE(got.size() == want.size());
            CHECK(std::memcmp(got.data(), want.data(), want.size_bytes()) == 0);
        }
        CHECK(snapshot(loaded).values == snapshot(saved).values);
    };
    nnfuse::save_weights(dir / "w.safetensors", saved);
    nnfuse::load_weights(dir / "w.safetensors", loaded);
    check_same();

    // A training checkpoint: the same variables, with the optimizer's state beside them.
    nnfuse::adam saved_optimizer(0.01f), loaded_optimizer(0.01f);
    adapt_and_train(loaded, 5);
    nnfuse::save_training_checkpoint(dir / "t.safetensors", saved, saved_optimizer, {.epochs_done = 1, .seed = 3});
    nnfuse::load_training_checkpoint(dir / "t.safetensors", loaded, loaded_optimizer);
    check_same();
    // The same rows then give the same predictions: the restored statistics standardize them.
    const std::vector<float> x = random_rows(4 * 20, 9);
    std::vector<float> a(4 * 3), b(4 * 3);
    saved.predict_batch(x.data(), 4, a.data());
    loaded.predict_batch(x.data(), 4, b.data());
    CHECK(a == b);
}

TEST_CASE("a count of the wrong shape is refused", "[checkpoint][normalization]") {
    scratch_dir dir;
    gen::normalized_rows_test::Net net(16);
    adapt_and_train(net, 3);
    nnfuse::save_weights(dir / "w.safetensors", net);
    // The same file with count written as a (1,) vector instead of a scalar: the header (after its 8-byte
    // little-endian length) edited, and its length with it.
    const std::string saved = checkpoint_test::read_all(dir / "w.safetensors");
    std::uint64_t header_size = 0;
    std::memcpy(&header_size, saved.data(), 8);
    std::string header = saved.substr(8, header_size);
    const auto at = header.find(R"("shape":[])", header.find(R"("normalization/count:0")"));
    REQUIRE(at != std::string::npos);
    header.replace(at, 10, R"("shape":[1])");
    const std::string bytes = checkpoint_test::u64_le(header.size()) + header + saved.substr(8 + header_size);
    checkpoint_test::write_all(dir / "vector.safetensors", bytes);
    CHECK_THROWS_WITH(nnfuse::load_weights(dir / "vector.safetensors", net),
                      Catch::Contains("normalization/count:0") && Catch::Contains("model F32 ()"));
}
