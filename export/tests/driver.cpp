// A program that uses an exported header and nothing else (compiled with g++ -std=c++17, no other flag):
//   a.out INPUTS.f32 ROWS OUTPUTS.f32 [--time REPEATS]
// reads ROWS * input_size raw floats (native byte order), writes ROWS * output_size predictions, through
// predict(x, rows, out) where the header declares it (its scratch on the stack), else through
// predict(x, rows, out, scratch). Exits 1 if predict(x, rows, out, scratch) gives other bits on the first rows.
// --time also prints the per-sample latency of predict on one sample at a time and on all ROWS at once (best of
// REPEATS).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "predict.hpp"

// predict(x, rows, out) when the header has it; the other overload otherwise (detected: the first is a better match).
template <class... Args>
auto predict_rows(int, Args... args) -> decltype(exported::predict(args...)) {
    return exported::predict(args...);
}
template <class... Args>
void predict_rows(long, Args... args) {
    static std::vector<float> scratch(exported::scratch_floats);
    exported::predict(args..., scratch.data());
}
void predict(const float* x, std::size_t rows, float* y) { predict_rows(0, x, rows, y); }

int main(int argc, char** argv) {
    if (argc != 4 && argc != 6) {
        std::fprintf(stderr, "usage: %s INPUTS.f32 ROWS OUTPUTS.f32 [--time REPEATS]\n", argv[0]);
        return 2;
    }
    const std::size_t rows = std::strtoull(argv[2], nullptr, 10);
    std::vector<float> x(rows * exported::input_size), y(rows * exported::output_size);
    std::FILE* in = std::fopen(argv[1], "rb");
    if (!in || std::fread(x.data(), sizeof(float), x.size(), in) != x.size()) {
        std::fprintf(stderr, "%s: cannot read %zu floats\n", argv[1], x.size());
        return 1;
    }
    std::fclose(in);
    predict(x.data(), rows, y.data());
    // The caller's scratch gives the same bits (on a few rows: one block and a partial one).
    const std::size_t some = rows < 7 ? rows : 7;
    std::vector<float> scratch(exported::scratch_floats), again(some * exported::output_size);
    exported::predict(x.data(), some, again.data(), scratch.data());
    if (std::memcmp(again.data(), y.data(), again.size() * sizeof(float)) != 0) {
        std::fprintf(stderr, "predict with the caller's scratch differs\n");
        return 1;
    }
    std::FILE* out = std::fopen(argv[3], "wb");
    if (!out || std::fwrite(y.data(), sizeof(float), y.size(), out) != y.size() || std::fclose(out) != 0) {
        std::fprintf(stderr, "%s: cannot write\n", argv[3]);
        return 1;
    }
    if (argc == 6 && std::strcmp(argv[4], "--time") == 0) {
        using clock = std::chrono::steady_clock;
        const int repeats = std::atoi(argv[5]);
        double best_one = 1e300, best_all = 1e300;
        volatile float sink = 0;
        for (int r = 0; r < repeats; ++r) {
            auto start = clock::now();
            for (std::size_t i = 0; i < rows; ++i)
                predict(x.data() + i * exported::input_size, 1, y.data() + i * exported::output_size);
            best_one = std::min(best_one, std::chrono::duration<double>(clock::now() - start).count());
            sink = sink + y[0];
            start = clock::now();
            predict(x.data(), rows, y.data());
            best_all = std::min(best_all, std::chrono::duration<double>(clock::now() - start).count());
            sink = sink + y[0];
        }
        std::printf("exported predict: %.3f us/sample one at a time, %.3f us/sample over %zu rows\n",
                    1e6 * best_one / rows, 1e6 * best_all / rows, rows);
    }
    return 0;
}
