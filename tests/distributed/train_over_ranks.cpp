// Trains the reference model (fashion_mnist's Net) on random images over the MPI ranks it is started on, and prints
// what compare_ranks.py compares across rank and thread counts: a digest of every variable and optimizer slot, the
// optimizer's step count and the history's losses in full precision. Every rank computes the digest; rank 0 checks
// that all agree (exit 1 otherwise) and prints them. On one rank no exchange is set: the plain one-process path.
//
// usage: train_over_ranks [--threads T] [--floats] [--optimizer sgd|adam] [--no-exchange]
//   --floats trains on the images as float rows (train_batch) instead of uint8 pixels (train_pixel_batch).
//   --no-exchange (the control experiment): each rank computes its share of the chunks but receives nothing of the
//   others', so the ranks' results must differ from one process's (and from each other's: exit 1).
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fashion_mnist.gen.hpp"
#include "runtime/data/float_rows.hpp"
#include "runtime/data/image_rows.hpp"
#include "runtime/distributed/mpi_exchange.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"
#include "tests/runtime/network/test_helpers.hpp"

namespace {

// The control: MPI's shares, no exchange.
class share_without_exchange final : public nnfuse::chunk_exchange {
public:
    explicit share_without_exchange(const nnfuse::mpi_chunk_exchange& mpi) : mpi_(mpi) {}
    std::size_t processes() const override { return mpi_.processes(); }
    std::size_t process() const override { return mpi_.process(); }
    nnfuse::chunk_share share_of(std::size_t p, std::size_t chunks) const override { return mpi_.share_of(p, chunks); }
    void exchange(std::span<const nnfuse::chunk_region>, std::size_t) override {}

private:
    const nnfuse::mpi_chunk_exchange& mpi_;
};

std::uint64_t fnv1a(std::uint64_t hash, const void* data, std::size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) hash = (hash ^ p[i]) * 0x100000001b3ull;
    return hash;
}

}  // namespace

int main(int argc, char** argv) {
    nnfuse::mpi_environment mpi(argc, argv);
    std::size_t threads = 1;
    bool floats = false, no_exchange = false;
    std::string optimizer_name = "sgd";
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--threads" && i + 1 < argc) {
            threads = std::stoul(argv[++i]);
        } else if (arg == "--no-exchange") {
            no_exchange = true;
        } else if (arg == "--floats") {
            floats = true;
        } else if (arg == "--optimizer" && i + 1 < argc) {
            optimizer_name = argv[++i];
        } else {
            std::cerr << "error: unknown argument " << arg << '\n';
            return 2;
        }
    }
    // 1000 rows in batches of 256: 4 chunks of 64 rows per batch (the last batch 232 rows, 4 chunks).
    const nnfuse::labeled_images images = test_support::random_images(1000, 28, 28, 10, 7);
    std::vector<float> x(images.pixels.size());
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(images.pixels[i]) / 255.0f;
    const std::vector<std::int32_t> labels(images.labels.begin(), images.labels.end());
    const nnfuse::float_rows float_set(x, 784, labels);
    const nnfuse::image_rows pixel_set(images);

    nnfuse::generated::fashion_mnist::Net net(257);
    nnfuse::initialize_variables(net, 42);
    net.set_threads(threads);
    nnfuse::mpi_chunk_exchange exchange;
    share_without_exchange control(exchange);
    if (mpi.ranks() > 1)
        net.set_chunk_exchange(no_exchange ? static_cast<nnfuse::chunk_exchange*>(&control) : &exchange);
    std::unique_ptr<nnfuse::optimizer> optimizer;
    if (optimizer_name == "adam") {
        optimizer = std::make_unique<nnfuse::adam>();
    } else {
        optimizer = std::make_unique<nnfuse::sgd>(0.01f);
    }
    nnfuse::trainer trainer(net, *optimizer);
    const nnfuse::history history = trainer.fit(floats ? static_cast<const nnfuse::data_set&>(float_set) : pixel_set,
                                                {.epochs = 2, .batch_size = 256, .seed = 42});

    std::uint64_t digest = 0xcbf29ce484222325ull;
    for (const auto& v : net.variables()) digest = fnv1a(digest, v.value.data(), v.value.size_bytes());
    for (const auto& slot : optimizer->state()) digest = fnv1a(digest, slot.values.data(), slot.values.size_bytes());
    std::vector<std::uint64_t> digests(static_cast<std::size_t>(mpi.ranks()));
    MPI_Allgather(&digest, 1, MPI_UINT64_T, digests.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD);
    if (mpi.rank() != 0) return 0;
    for (std::size_t r = 0; r < digests.size(); ++r) {
        if (digests[r] != digest) {
            std::cerr << fmt::format("error: rank {} ends with digest {:016x}, rank 0 with {:016x}\n", r, digests[r],
                                     digest);
            return 1;
        }
    }
    const nnfuse::chunk_share share = exchange.share(4);
    std::cout << fmt::format("ranks {} threads {} path {}: rank 0 computed chunks {}..{} of 4\n", mpi.ranks(), threads,
                             floats ? "floats" : "pixels", share.first, share.first + share.count - 1);
    std::cout << fmt::format("digest {:016x} steps {}\n", digest, optimizer->iterations());
    for (double loss : history.series("loss")) std::cout << fmt::format("loss {}\n", loss);
    return 0;
}
