// Per-rank ("ghost") batch statistics (runtime/parallel/bn_statistics_groups.hpp) over the MPI ranks it is started on,
// checked against a reference that does not use them: one training step over R ranks, each normalizing its share of
// the batch with that share's own statistics, must give the gradient of the loss summed over the shares, each share's
// part computed by a one-process Net (synchronized statistics, no exchange) trained on that share's rows alone:
//     gradient = sum over shares g of rows_g / rows * gradient of the one-process step on share g,
// (a share's mean loss has weight rows_g / rows in the batch's), and the moving statistics must be those of the
// one-process step on rank 0's share, bit for bit (PyTorch DDP keeps rank 0's buffers). Synchronized statistics on
// the same batch must not meet that reference (so the comparison can fail), except on one rank, where per-rank must
// give the synchronized bits exactly. Then two epochs of fit with per-rank statistics: every rank must end with the
// same bits (variables, moving statistics, optimizer slots) and the loss must fall. On R > 1 ranks, a batch of R - 1
// chunks (rank 0's share empty) must meet the same reference, its moving statistics those of rank 1's share.
// Models: the reference model (its input BN folded into the dense layer) and two_bn (a torch-profile BN over 3 values
// per sample, and a BN without beta whose dx flows back into the dense layer before it).
//
// usage: per_rank_statistics [--threads T]; exit 0 when every check passes, 1 otherwise (rank 0 says which).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fashion_mnist.gen.hpp"
#include "runtime/data/float_rows.hpp"
#include "runtime/distributed/mpi_exchange.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/train/batch_norm_statistics.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"
#include "tests/runtime/network/test_helpers.hpp"
#include "two_bn_test.gen.hpp"

namespace {

std::uint64_t fnv1a(std::uint64_t hash, const void* data, std::size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) hash = (hash ^ p[i]) * 0x100000001b3ull;
    return hash;
}

struct step_result {
    std::vector<std::vector<float>> gradients;  // per trainable variable
    std::vector<float> moving;                  // every BN layer's moving mean and variance
};

// One training step of a fresh Net (seed 42) on rows [first, first + count) of x.
template <class Net>
step_result one_step(const std::vector<float>& x, const std::vector<std::int32_t>& labels, std::size_t first,
                     std::size_t count, std::size_t threads, nnfuse::chunk_exchange* exchange,
                     nnfuse::bn_statistics statistics) {
    Net net(count);
    nnfuse::initialize_variables(net, 42);
    net.set_threads(threads);
    net.as_batch_norm_statistics()->set_batch_statistics(statistics);
    if (exchange != nullptr) net.set_chunk_exchange(exchange);
    net.train_batch(x.data() + first * Net::input_size_per_sample, labels.data() + first, count);
    step_result result;
    for (const auto& v : net.variables()) {
        if (v.trainable) result.gradients.emplace_back(v.grad.begin(), v.grad.end());
    }
    for (const auto& bn : net.bn_layers()) {
        result.moving.insert(result.moving.end(), bn.moving_mean.begin(), bn.moving_mean.end());
        result.moving.insert(result.moving.end(), bn.moving_variance.begin(), bn.moving_variance.end());
    }
    return result;
}

// The largest |a - b| relative to the variable's largest |b| over every variable.
double worst_relative_error(const std::vector<std::vector<float>>& a, const std::vector<std::vector<double>>& b) {
    double worst = 0.0;
    for (std::size_t v = 0; v < a.size(); ++v) {
        double scale = 1e-30, error = 0.0;
        for (std::size_t i = 0; i < a[v].size(); ++i) {
            scale = std::max(scale, std::abs(b[v][i]));
            error = std::max(error, std::abs(static_cast<double>(a[v][i]) - b[v][i]));
        }
        worst = std::max(worst, error / scale);
    }
    return worst;
}

std::uint64_t digest_of(const step_result& r) {
    std::uint64_t digest = 0xcbf29ce484222325ull;
    for (const auto& g : r.gradients) digest = fnv1a(digest, g.data(), g.size() * sizeof(float));
    return fnv1a(digest, r.moving.data(), r.moving.size() * sizeof(float));
}

bool same_on_every_rank(std::uint64_t digest, const nnfuse::mpi_environment& mpi) {
    std::vector<std::uint64_t> digests(static_cast<std::size_t>(mpi.ranks()));
    MPI_Allgather(&digest, 1, MPI_UINT64_T, digests.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD);
    return std::all_of(digests.begin(), digests.end(), [&](std::uint64_t d) { return d == digest; });
}

template <class Net>
std::vector<std::string> check_model(const char* name, const nnfuse::mpi_environment& mpi,
                                     nnfuse::mpi_chunk_exchange& exchange, std::size_t threads) {
    std::vector<std::string> failures;
    const auto fail = [&](std::string what) { failures.push_back(fmt::format("{}: {}", name, what)); };
    const std::size_t ranks = exchange.processes();
    // Two chunks a rank, the last rank's share 37 rows short: shares of unequal rows.
    const std::size_t rows = 2 * Net::chunk_rows * ranks - 37;
    const std::vector<float> x = test_support::random_values(rows * Net::input_size_per_sample, 11, 2.0f, 0.5f);
    const std::vector<std::int32_t> labels = test_support::random_labels(rows, Net::outputs_per_sample, 12);

    const step_result per_rank = one_step<Net>(x, labels, 0, rows, threads, &exchange, nnfuse::bn_statistics::per_rank);
    const step_result synchronized =
        one_step<Net>(x, labels, 0, rows, threads, &exchange, nnfuse::bn_statistics::synchronized);
    if (!same_on_every_rank(digest_of(per_rank), mpi))
        fail("per-rank: the ranks' gradients or moving statistics differ");

    // The reference: each share's one-process step, weighted by its rows; the moving statistics of the first share
    // with rows (rank 0's, unless a batch has fewer chunks than ranks).
    const auto reference_of = [&](std::size_t batch_rows, std::vector<std::vector<double>>& gradients,
                                  std::vector<float>& moving) {
        gradients.clear();
        moving.clear();
        const std::size_t batch_chunks = Net::chunk_count(batch_rows);
        for (std::size_t p = 0; p < ranks; ++p) {
            const nnfuse::chunk_share share = exchange.share_of(p, batch_chunks);
            if (share.count == 0) continue;
            const std::size_t first = share.first * Net::chunk_rows;
            const std::size_t count = std::min(batch_rows, (share.first + share.count) * Net::chunk_rows) - first;
            const step_result part =
                one_step<Net>(x, labels, first, count, threads, nullptr, nnfuse::bn_statistics::synchronized);
            if (moving.empty()) moving = part.moving;
            gradients.resize(part.gradients.size());
            for (std::size_t v = 0; v < part.gradients.size(); ++v) {
                gradients[v].resize(part.gradients[v].size());
                for (std::size_t i = 0; i < part.gradients[v].size(); ++i) {
                    gradients[v][i] +=
                        static_cast<double>(count) / static_cast<double>(batch_rows) * part.gradients[v][i];
                }
            }
        }
    };
    std::vector<std::vector<double>> reference;
    std::vector<float> rank0_moving;
    reference_of(rows, reference, rank0_moving);
    const double tolerance = 2e-5;
    const double per_rank_error = worst_relative_error(per_rank.gradients, reference);
    const double synchronized_error = worst_relative_error(synchronized.gradients, reference);
    if (mpi.rank() == 0) {
        std::cout << fmt::format(
            "{} on {} ranks: gradient vs the shares' one-process steps: per-rank {:.2e}, "
            "synchronized {:.2e} (tolerance {:.0e})\n",
            name, ranks, per_rank_error, synchronized_error, tolerance);
    }
    if (!(per_rank_error <= tolerance)) fail(fmt::format("per-rank gradient off the reference by {}", per_rank_error));
    if (per_rank.moving != rank0_moving) fail("per-rank moving statistics are not rank 0's share's bits");
    if (ranks == 1) {
        if (digest_of(per_rank) != digest_of(synchronized)) fail("one rank: per-rank differs from synchronized");
    } else if (!(synchronized_error > 10 * tolerance)) {
        fail(fmt::format("synchronized statistics meet the per-rank reference too ({}): the check cannot fail",
                         synchronized_error));
    }
    if (ranks > 1) {
        // A batch of fewer chunks than ranks (as a short last batch can be): rank 0's share is empty, and the moving
        // statistics follow the first share with rows.
        const std::size_t short_rows = (ranks - 1) * Net::chunk_rows;
        const step_result short_step =
            one_step<Net>(x, labels, 0, short_rows, threads, &exchange, nnfuse::bn_statistics::per_rank);
        if (!same_on_every_rank(digest_of(short_step), mpi)) fail("a short batch: the ranks differ");
        std::vector<std::vector<double>> short_reference;
        std::vector<float> short_moving;
        reference_of(short_rows, short_reference, short_moving);
        const double short_error = worst_relative_error(short_step.gradients, short_reference);
        if (!(short_error <= tolerance)) fail(fmt::format("a short batch: gradient off by {}", short_error));
        if (short_step.moving != short_moving) fail("a short batch: moving statistics are not rank 1's share's bits");
        if (mpi.rank() == 0) {
            std::cout << fmt::format(
                "{} on {} ranks: a batch of {} chunks (rank 0 has none): gradient {:.2e} off, "
                "moving statistics rank 1's share's bits\n",
                name, ranks, ranks - 1, short_error);
        }
    }

    // Two epochs of fit with per-rank statistics: the same bits on every rank, and a falling loss.
    const std::size_t samples = 1000;
    const std::vector<float> train_x = test_support::random_values(samples * Net::input_size_per_sample, 21);
    std::vector<std::int32_t> train_labels(samples);
    for (std::size_t i = 0; i < samples; ++i) {  // a learnable rule: the sign of the first feature
        train_labels[i] = train_x[i * Net::input_size_per_sample] > 0.0f ? 1 : 0;
    }
    const nnfuse::float_rows set(train_x, Net::input_size_per_sample, train_labels);
    Net net(2 * Net::chunk_rows * ranks + 1);
    nnfuse::initialize_variables(net, 42);
    net.set_threads(threads);
    net.as_batch_norm_statistics()->set_batch_statistics(nnfuse::bn_statistics::per_rank);
    net.set_chunk_exchange(&exchange);
    nnfuse::adam optimizer(1e-2f);
    nnfuse::trainer trainer(net, optimizer);
    const nnfuse::history history =
        trainer.fit(set, {.epochs = 2, .batch_size = 2 * Net::chunk_rows * ranks, .seed = 42});
    net.set_chunk_exchange(nullptr);
    std::uint64_t digest = 0xcbf29ce484222325ull;
    for (const auto& v : net.variables()) digest = fnv1a(digest, v.value.data(), v.value.size_bytes());
    for (const auto& slot : optimizer.state()) digest = fnv1a(digest, slot.values.data(), slot.values.size_bytes());
    if (!same_on_every_rank(digest, mpi)) fail("after fit, the ranks' variables or optimizer slots differ");
    const std::vector<double> losses = history.series("loss");
    if (!(losses.size() == 2 && losses[1] < losses[0])) fail("fit's loss did not fall");
    if (mpi.rank() == 0) {
        std::cout << fmt::format("{} on {} ranks: fit per-rank, loss {:.4f} -> {:.4f}, digest {:016x} on every rank\n",
                                 name, ranks, losses.front(), losses.back(), digest);
    }
    return failures;
}

}  // namespace

int main(int argc, char** argv) {
    nnfuse::mpi_environment mpi(argc, argv);
    std::size_t threads = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--threads" && i + 1 < argc) {
            threads = std::stoul(argv[++i]);
        } else {
            std::cerr << "error: unknown argument " << arg << '\n';
            return 2;
        }
    }
    nnfuse::mpi_chunk_exchange exchange;
    std::vector<std::string> failures =
        check_model<nnfuse::generated::fashion_mnist::Net>("fashion_mnist", mpi, exchange, threads);
    const std::vector<std::string> two_bn =
        check_model<nnfuse::generated::two_bn_test::Net>("two_bn_test", mpi, exchange, threads);
    failures.insert(failures.end(), two_bn.begin(), two_bn.end());
    if (mpi.rank() != 0) return failures.empty() ? 0 : 1;
    for (const std::string& failure : failures) std::cerr << "error: " << failure << '\n';
    return failures.empty() ? 0 : 1;
}
