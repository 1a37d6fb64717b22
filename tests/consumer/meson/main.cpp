// Trains the consumer's own model (model.hpp, generated at build time by nnfuse-gen) for a few epochs on
// synthetic images and checks that the test loss drops. Prints the time per training step: the generated kernels
// are built optimized even in this project's debug build.
#include <chrono>
#include <cstdio>
#include <random>

#include "mymodel.gen.hpp"
#include "runtime/data/labeled_images.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"

namespace {

// 3 classes of 8x8 images: class c brightens rows [3c, 3c + 2) (the last class: rows 6 and 7); noise elsewhere.
nnfuse::labeled_images synthetic_images(std::size_t count, unsigned seed) {
    nnfuse::labeled_images set;
    set.count = count;
    set.height = 8;
    set.width = 8;
    std::mt19937 random(seed);
    std::uniform_int_distribution<int> noise(0, 120), label(0, 2);
    for (std::size_t i = 0; i < count; ++i) {
        const int c = label(random);
        set.labels.push_back(static_cast<std::uint8_t>(c));
        for (std::size_t row = 0; row < 8; ++row) {
            const bool bright = row / 3 == static_cast<std::size_t>(c) || (c == 2 && row >= 6);
            for (std::size_t column = 0; column < 8; ++column) {
                set.pixels.push_back(static_cast<std::uint8_t>(noise(random) + (bright ? 120 : 0)));
            }
        }
    }
    return set;
}

}  // namespace

int main() {
    nnfuse::generated::mymodel::Net net(/*max_batch=*/33);
    nnfuse::initialize_variables(net, /*seed=*/42);
    nnfuse::sgd optimizer(0.05f);
    nnfuse::trainer trainer(net, optimizer);
    const auto train = synthetic_images(960, 1), test = synthetic_images(300, 2);
    const auto before = trainer.evaluate(test, 32);
    const auto start = std::chrono::steady_clock::now();
    const std::size_t epochs = 3;
    trainer.fit(train, {.epochs = epochs, .batch_size = 32});
    const std::chrono::duration<double, std::micro> elapsed = std::chrono::steady_clock::now() - start;
    const auto after = trainer.evaluate(test, 32);
    std::printf("consumer_meson: test loss %.4f -> %.4f, accuracy %.4f -> %.4f, %.1f us per training step\n",
                before.loss, after.loss, before.accuracy, after.accuracy, elapsed.count() / (epochs * 960 / 32));
    if (!(after.loss < 0.5 * before.loss)) {
        std::fprintf(stderr, "consumer_meson: the loss did not drop by half\n");
        return 1;
    }
    return 0;
}
