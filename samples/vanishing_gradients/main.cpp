// Vanishing gradients, measured: a deep MLP of saturating units on Fashion-MNIST, trained twice
// from the same initial values and batches: without batch normalization (no_bn) and with
// Dense(use_bias=False) -> BatchNormalization -> Activation in every hidden layer (bn).
//   vanishing_gradients [--depth 10] [--width 64] [--activation sigmoid] [--epochs 5] [--limit N] [--out DIR] ...
// Prints one row per epoch, the L2 norm of each hidden layer's kernel gradient (first step and last
// epoch) and a summary; writes DIR/history.csv, DIR/gradients.csv (variant,epoch,layer,grad_norm:
// epoch 0 = the first step, layer 1 = the first hidden layer), DIR/gradients.svg and DIR/training.svg.
// --depth/--width/--activation choose among the models this build generated (vg_compiled_models.hpp,
// written by meson from nnfuse_models); any other choice is exit status 2 with the list.
#include <cmath>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include "samples/common/experiment.hpp"
#include "vg_compiled_models.hpp"

namespace {

using vanishing_gradients::compiled_pair;

std::string describe(const compiled_pair& pair) {
    return fmt::format("--depth {} --width {} --activation {}", pair.depth, pair.width, pair.activation);
}

const compiled_pair& find_compiled(std::size_t depth, std::size_t width, const std::string& activation) {
    for (const compiled_pair& pair : vanishing_gradients::compiled_pairs) {
        if (pair.depth == depth && pair.width == width && pair.activation == activation) return pair;
    }
    std::string known;
    for (const compiled_pair& pair : vanishing_gradients::compiled_pairs)
        known += (known.empty() ? "" : "; ") + describe(pair);
    throw samples::usage_error(
        fmt::format("no compiled model has depth {}, width {} and activation {}; this build has: {} "
                    "(to add one, see samples/vanishing_gradients/model.hpp)",
                    depth, width, activation, known));
}

// Keras's "Total params": every variable, trainable or not.
std::size_t total_params(nnfuse::network& net) {
    std::size_t count = 0;
    for (const nnfuse::variable_ref& v : net.variables()) count += v.value.size();
    return count;
}

// The kernel gradient of each hidden dense layer: layer k is Keras's dense (k = 1) or dense_<k-1>;
// dense_<depth> is the output layer. A model of another depth was misnamed in nnfuse_models.
std::vector<std::span<const float>> hidden_kernel_grads(nnfuse::network& net, std::size_t depth) {
    auto find = [&](std::size_t k) -> const nnfuse::variable_ref* {
        const std::string name = k == 1 ? "dense/kernel:0" : fmt::format("dense_{}/kernel:0", k - 1);
        for (const nnfuse::variable_ref& v : net.variables()) {
            if (v.name == name && !v.grad.empty()) return &v;
        }
        return nullptr;
    };
    if (find(depth + 1) == nullptr || find(depth + 2) != nullptr) {
        throw std::logic_error(
            fmt::format("model {} does not have {} hidden dense layers: is its name in nnfuse_models "
                        "right?",
                        net.model_name(), depth));
    }
    std::vector<std::span<const float>> grads;
    for (std::size_t k = 1; k <= depth; ++k) grads.push_back(find(k)->grad);
    return grads;
}

double l2_norm(std::span<const float> values) {
    double sum = 0;
    for (float v : values) sum += static_cast<double>(v) * static_cast<double>(v);
    return std::sqrt(sum);
}

struct gradient_snapshot {
    std::size_t epoch;          // 0: the first step
    std::vector<double> norms;  // [layer - 1]
};

struct variant_result {
    samples::variant_run run;
    std::vector<gradient_snapshot> gradients;
};

variant_result train_variant(const std::string& name, nnfuse::network& net, std::size_t depth,
                             const nnfuse::fashion_mnist_data& data, const samples::experiment_flags& flags) {
    const auto grads = hidden_kernel_grads(net, depth);
    variant_result result;
    auto probe = [&](std::size_t epoch) {
        gradient_snapshot snapshot{epoch, {}};
        for (const auto& g : grads) snapshot.norms.push_back(l2_norm(g));
        if (epoch == 0) {
            std::cout << fmt::format(
                "{:<10} {:>5}   first step: kernel gradient norm, layer 1 {:.3e}, layer {} {:.3e}\n", name, 0,
                snapshot.norms.front(), depth, snapshot.norms.back());
        }
        result.gradients.push_back(std::move(snapshot));
    };
    auto row = [&](const samples::epoch_row& r) {
        std::cout << samples::row_line(name, r);
        if (!result.gradients.empty() && result.gradients.back().epoch == r.epoch) {
            const auto& norms = result.gradients.back().norms;
            std::cout << fmt::format(" {:>11.3e} {:>11.3e}", norms.front(), norms.back());
        }
        std::cout << std::endl;
    };
    result.run = samples::run_variant(name, net, data, flags, probe, row);
    if (!result.run.diverged.empty()) std::cout << name << ": " << result.run.diverged << "\n";
    return result;
}

void write_gradients_csv(const std::vector<variant_result>& results, const std::filesystem::path& file) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << "variant,epoch,layer,grad_norm\n";
    for (const variant_result& r : results) {
        for (const gradient_snapshot& s : r.gradients) {
            for (std::size_t k = 0; k < s.norms.size(); ++k) {
                out << fmt::format("{},{},{},{}\n", r.run.name, s.epoch, k + 1, s.norms[k]);
            }
        }
    }
    out.flush();
    if (!out) throw std::runtime_error(fmt::format("cannot write {}", file.string()));
}

// Colours: no_bn vermillion, bn blue (the palette of plot.hpp).
int color_of(const std::string& variant) { return variant == "bn" ? 0 : 1; }

samples::figure gradients_figure(const std::vector<variant_result>& results, const std::string& title) {
    samples::figure fig{title, {}};
    samples::plot_panel per_layer{.title = "kernel gradient per hidden layer: first step dashed, last epoch solid",
                                  .x_label = "hidden layer (1 = next to the input)",
                                  .y_label = "L2 norm of the kernel gradient (log scale)",
                                  .log_y = true};
    samples::plot_panel over_time{.title = "during training: layer 1 solid, last hidden layer dashed",
                                  .x_label = "epoch (0 = the first step)",
                                  .y_label = "L2 norm of the kernel gradient (log scale)",
                                  .log_y = true};
    for (const variant_result& r : results) {
        if (r.gradients.empty()) continue;
        const int color = color_of(r.run.name);
        const std::size_t depth = r.gradients.front().norms.size();
        for (const gradient_snapshot* s : {&r.gradients.front(), &r.gradients.back()}) {
            const bool first = s == &r.gradients.front();
            samples::plot_line line{
                .title = fmt::format("{} {}", r.run.name, first ? "first step" : fmt::format("epoch {}", s->epoch)),
                .color = color,
                .dashed = first};
            for (std::size_t k = 0; k < depth; ++k)
                line.x.push_back(static_cast<double>(k + 1)), line.y.push_back(s->norms[k]);
            per_layer.lines.push_back(std::move(line));
            if (r.gradients.size() == 1) break;
        }
        samples::plot_line first_layer{r.run.name + " layer 1", {}, {}, color, false};
        samples::plot_line last_layer{fmt::format("{} layer {}", r.run.name, depth), {}, {}, color, true};
        for (const gradient_snapshot& s : r.gradients) {
            first_layer.x.push_back(static_cast<double>(s.epoch)), first_layer.y.push_back(s.norms.front());
            last_layer.x.push_back(static_cast<double>(s.epoch)), last_layer.y.push_back(s.norms.back());
        }
        over_time.lines.push_back(std::move(first_layer));
        over_time.lines.push_back(std::move(last_layer));
    }
    fig.panels.push_back(std::move(per_layer));
    fig.panels.push_back(std::move(over_time));
    return fig;
}

void print_gradient_table(const std::vector<variant_result>& results) {
    if (results.size() != 2 || results[0].gradients.empty() || results[1].gradients.empty()) return;
    const auto& plain = results[0].gradients;
    const auto& bn = results[1].gradients;
    std::cout << fmt::format(
        "\nL2 norm of each hidden layer's kernel gradient: at the first step, and at the last step of epoch {}\n",
        plain.back().epoch);
    std::cout << fmt::format("{:>5} {:>12} {:>12} {:>12} {:>12} {:>14}\n", "layer", "no_bn first", "no_bn last",
                             "bn first", "bn last", "bn/no_bn first");
    for (std::size_t k = 0; k < plain.front().norms.size(); ++k) {
        std::cout << fmt::format("{:>5} {:>12.3e} {:>12.3e} {:>12.3e} {:>12.3e} {:>14.3g}\n", k + 1,
                                 plain.front().norms[k], plain.back().norms[k], bn.front().norms[k], bn.back().norms[k],
                                 bn.front().norms[k] / plain.front().norms[k]);
    }
}

void print_summary(const std::vector<variant_result>& results) {
    if (results.size() != 2) return;
    const auto& plain = results[0];
    const auto& bn = results[1];
    std::cout << "\n";
    if (!plain.gradients.empty() && !bn.gradients.empty()) {
        for (const bool first : {true, false}) {
            const double a = (first ? plain.gradients.front() : plain.gradients.back()).norms.front();
            const double b = (first ? bn.gradients.front() : bn.gradients.back()).norms.front();
            const std::string when =
                first ? std::string("first step") : fmt::format("end of epoch {}", plain.gradients.back().epoch);
            std::cout << fmt::format(
                "First hidden layer's gradient norm, {:<14} no_bn {:.3e}, bn {:.3e}: ratio {:.3g} "
                "({:+.1f} orders of magnitude)\n",
                when + ":", a, b, b / a, std::log10(b / a));
        }
    }
    if (!plain.run.epochs.empty() && !bn.run.epochs.empty()) {
        std::cout << fmt::format("Test accuracy after epoch {}: no_bn {:.4f}, bn {:.4f}\n",
                                 plain.run.epochs.back().epoch, plain.run.epochs.back().test_accuracy,
                                 bn.run.epochs.back().test_accuracy);
        const double a = samples::mean_seconds(plain.run), b = samples::mean_seconds(bn.run);
        const double a_cpu = samples::mean_seconds(plain.run, true), b_cpu = samples::mean_seconds(bn.run, true);
        std::cout << fmt::format(
            "Training seconds per epoch (mean): wall no_bn {:.3f}, bn {:.3f} (BN {:+.0f}%); "
            "CPU no_bn {:.3f}, bn {:.3f} (BN {:+.0f}%)\n",
            a, b, 100.0 * (b / a - 1.0), a_cpu, b_cpu, 100.0 * (b_cpu / a_cpu - 1.0));
    }
}

int run(const samples::experiment_flags& flags, std::size_t depth, std::size_t width, const std::string& activation) {
    const compiled_pair& pair = find_compiled(depth, width, activation);
    const std::filesystem::path out = samples::prepare_out_dir(flags);
    const nnfuse::fashion_mnist_data data = samples::load_experiment_data(flags);

    std::cout << fmt::format(
        "Vanishing gradients: {} hidden layers of {} {} units on Fashion-MNIST ({} training, {} test samples)\n"
        "{} lr {}, batch {}, seed {}, {}; the same initial kernels and batches for both variants\n",
        depth, width, activation, data.train.count, data.test.count, flags.optimizer, flags.effective_learning_rate(),
        flags.batch_size, flags.seed, fmt::format("{} epoch{}", flags.epochs, flags.epochs == 1 ? "" : "s"));
    const std::size_t max_batch = flags.batch_size + 1;  // a last batch of one joins the one before it
    const auto plain_net = pair.no_bn(max_batch);
    const auto bn_net = pair.bn(max_batch);
    std::cout << fmt::format(
        "  no_bn: Flatten -> {0} x Dense({1}, {2}) -> Dense(10, softmax)   ({3} params)\n"
        "  bn:    Flatten -> {0} x [Dense({1}, use_bias=False) -> BatchNormalization -> "
        "Activation({2})] -> Dense(10, softmax)   ({4} params)\n\n",
        depth, width, activation, total_params(*plain_net), total_params(*bn_net));
    std::cout << samples::header_line()
              << fmt::format(" {:>11} {:>11}\n", "|grad| L1", fmt::format("|grad| L{}", depth));

    std::vector<variant_result> results;
    results.push_back(train_variant("no_bn", *plain_net, depth, data, flags));
    results.push_back(train_variant("bn", *bn_net, depth, data, flags));
    print_gradient_table(results);
    print_summary(results);

    std::vector<samples::variant_run> runs;
    for (const auto& r : results) runs.push_back(r.run);
    samples::write_history_csv(runs, out / "history.csv");
    write_gradients_csv(results, out / "gradients.csv");
    std::cout << fmt::format("\nWrote {} and {}\n", (out / "history.csv").string(), (out / "gradients.csv").string());

    const std::string title = fmt::format(
        "{} hidden layers of {} {} units, Fashion-MNIST: without BN (no_bn) and "
        "with Dense -> BN -> {} (bn)",
        depth, width, activation, activation);
    const std::string extension = "." + flags.plot_format;
    const int colors[] = {color_of("no_bn"), color_of("bn")};
    for (const auto& [file, fig] :
         {std::pair{out / ("gradients" + extension), gradients_figure(results, title)},
          std::pair{out / ("training" + extension), samples::training_figure(runs, title, colors)}}) {
        if (samples::render_or_note(fig, file, std::cout)) std::cout << "Wrote " << file.string() << "\n";
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"nnfuse sample: per-layer gradient norms of a deep sigmoid MLP with and without batch normalization"};
    samples::experiment_flags flags;
    samples::add_experiment_flags(app, flags);
    std::size_t depth = 10, width = 64;
    std::string activation = "sigmoid";
    app.add_option("--depth", depth, "hidden layers (one of the compiled models)")->capture_default_str();
    app.add_option("--width", width, "units per hidden layer (one of the compiled models)")->capture_default_str();
    app.add_option("--activation", activation, "activation of the hidden layers (one of the compiled models)")
        ->capture_default_str();
    if (const auto status = samples::parse_command_line(app, argc, argv)) return *status;
    try {
        return run(flags, depth, width, activation);
    } catch (const std::exception& error) {
        // A bad flag or data set (usage_error, data_error) and anything else the training throws: one line.
        fmt::print(stderr, "vanishing_gradients: error: {}\n", error.what());
        return samples::exit_usage;
    }
}
