// The full Net's inference latency, to set beside the exported header's (docs/export.md):
//   net_predict_latency CHECKPOINT.safetensors [REPEATS [PROBABILITIES.f32]]
// loads the reference model's weights, predicts the 10,000 Fashion-MNIST test images one at a time
// (predict_batch with 1 row) and in batches of 32, 256 and 10,000, and prints the best per-sample time of each.
// PROBABILITIES.f32: also writes the predictions (raw floats, 10 per image) to compare with the exported header's.
// Built a second time with -DNNFUSE_LATENCY_CNN (net_predict_latency_cnn) for the fashion_mnist_cnn sample, whose
// Net holds at most 256 rows (a batch of 10,000 feature maps would take gigabytes).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#ifdef NNFUSE_LATENCY_CNN
#include "fashion_mnist_cnn.gen.hpp"
namespace model = nnfuse::generated::fashion_mnist_cnn;
constexpr std::size_t largest_batch = 256;
#else
#include "fashion_mnist.gen.hpp"
namespace model = nnfuse::generated::fashion_mnist;
constexpr std::size_t largest_batch = 10000;
#endif
#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/data/fashion_mnist.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CHECKPOINT.safetensors [REPEATS]\n", argv[0]);
        return 2;
    }
    const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
    const auto data = nnfuse::load_fashion_mnist();
    const std::size_t rows = data.test.count, in = 784, classes = 10;
    std::vector<float> x(rows * in), y(rows * classes);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(data.test.pixels[i]) * (1.0f / 255.0f);
    model::Net net(largest_batch);
    nnfuse::load_weights(argv[1], net);
    net.set_threads(1);
    using clock = std::chrono::steady_clock;
    for (const std::size_t batch : {std::size_t{1}, std::size_t{32}, std::size_t{256}, rows}) {
        if (batch > largest_batch) break;
        double best = 1e300;
        for (int r = 0; r < repeats; ++r) {
            const auto start = clock::now();
            for (std::size_t b = 0; b < rows; b += batch) {
                const std::size_t n = std::min(batch, rows - b);
                net.predict_batch(x.data() + b * in, n, y.data() + b * classes);
            }
            best = std::min(best, std::chrono::duration<double>(clock::now() - start).count());
        }
        std::printf("Net predict_batch: %.3f us/sample in batches of %zu\n", 1e6 * best / rows, batch);
    }
    if (argc > 3) {
        std::FILE* out = std::fopen(argv[3], "wb");
        if (!out || std::fwrite(y.data(), sizeof(float), y.size(), out) != y.size() || std::fclose(out) != 0) {
            std::fprintf(stderr, "%s: cannot write\n", argv[3]);
            return 1;
        }
    }
    return 0;
}
