#include "samples/common/experiment.hpp"

#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <memory>
#include <ostream>

#include <fmt/core.h>

#include "runtime/data/image_rows.hpp"
#include "runtime/optim/adam.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"

namespace samples {

namespace {

double wall_now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double cpu_now() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

// The trainer's batches per epoch (trainer.hpp: a final batch of one sample joins the one before it).
std::size_t batches_per_epoch(std::size_t count, std::size_t batch_size) {
    std::size_t batches = (count + batch_size - 1) / batch_size;
    if (batches > 1 && count % batch_size == 1) --batches;
    return batches;
}

std::unique_ptr<nnfuse::optimizer> make_optimizer(const experiment_flags& flags) {
    if (flags.optimizer == "adam") return std::make_unique<nnfuse::adam>(flags.effective_learning_rate());
    return std::make_unique<nnfuse::sgd>(flags.effective_learning_rate());
}

std::string one_line(std::string text) {
    for (char& c : text) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return text;
}

// CLI11's PositiveNumber names the largest double in its message; say the rule instead.
CLI::Validator positive(bool whole) {
    return CLI::Validator(
        [whole](std::string& input) -> std::string {
            std::size_t used = 0;
            double value = 0;
            try {
                value = std::stod(input, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            const bool ok = used == input.size() && std::isfinite(value) &&
                            (whole ? value >= 1 && value == std::floor(value) : value > 0);
            if (ok) return {};
            return fmt::format("must be {}, got '{}'", whole ? "a whole number of at least 1" : "a number above 0",
                               input);
        },
        whole ? "N >= 1" : "X > 0");
}

}  // namespace

void add_experiment_flags(CLI::App& app, experiment_flags& flags) {
    app.add_option("--epochs", flags.epochs, "passes over the training set")
        ->check(positive(true))
        ->capture_default_str();
    app.add_option("--batch-size", flags.batch_size, "samples per step (batch normalization needs at least 2)")
        ->check(CLI::Range(std::size_t{2}, std::size_t{1} << 16).description("2..65536"))
        ->capture_default_str();
    app.add_option("--optimizer", flags.optimizer, "sgd or adam")
        ->check(CLI::IsMember({"sgd", "adam"}))
        ->capture_default_str();
    app.add_option("--learning-rate", flags.learning_rate, "default 0.01 for sgd, 0.001 for adam")
        ->check(positive(false));
    app.add_option("--seed", flags.seed, "seeds initialization and shuffling, the same for every variant")
        ->capture_default_str();
    app.add_option("--data", flags.data_dir, "Fashion-MNIST directory (default: Debian's dataset-fashion-mnist)");
    app.add_option("--limit", flags.limit, "train on the first N training samples only (the test set stays whole)")
        ->check(positive(true));
    app.add_option("--out", flags.out_dir, "directory for the CSV files and plots (created if missing)")
        ->capture_default_str();
    app.add_option("--plot-format", flags.plot_format, "svg or png")
        ->check(CLI::IsMember({"svg", "png"}))
        ->capture_default_str();
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        const std::string program = argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "sample";
        fmt::print(stderr, "{}: error: {} (see --help)\n", program, one_line(e.what()));
        return exit_usage;
    }
    return std::nullopt;
}

std::filesystem::path prepare_out_dir(const experiment_flags& flags) {
    const std::filesystem::path dir = flags.out_dir.empty() ? std::string(".") : flags.out_dir;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw usage_error(fmt::format("cannot create the output directory {}: {}", dir.string(), ec.message()));
    // Refuse an unwritable directory now rather than after the training it would record.
    const std::filesystem::path probe = dir / ".nnfuse-write-check";
    {
        std::ofstream out(probe);
        if (!out) throw usage_error(fmt::format("cannot write into the output directory {}", dir.string()));
    }
    std::filesystem::remove(probe, ec);
    return dir;
}

nnfuse::fashion_mnist_data load_experiment_data(const experiment_flags& flags) {
    nnfuse::fashion_mnist_data data =
        nnfuse::load_fashion_mnist(flags.data_dir.empty() ? nnfuse::fashion_mnist_default_dir : flags.data_dir);
    nnfuse::labeled_images& train = data.train;
    if (flags.limit != 0 && flags.limit < train.count) {
        train.count = flags.limit;
        train.pixels.resize(train.count * train.height * train.width);
        train.labels.resize(train.count);
    }
    return data;
}

variant_run run_variant(std::string name, nnfuse::network& net, const nnfuse::fashion_mnist_data& data,
                        const experiment_flags& flags, const gradient_probe& probe, const epoch_callback& on_epoch) {
    variant_run run{std::move(name), {}, {}};
    const auto optimizer = make_optimizer(flags);
    nnfuse::initialize_variables(net, flags.seed);
    nnfuse::trainer trainer(net, *optimizer);
    const std::size_t batches = batches_per_epoch(data.train.count, flags.batch_size);

    double started_wall = 0, started_cpu = 0, ended_wall = 0, ended_cpu = 0;
    nnfuse::fit_options options;
    options.epochs = flags.epochs;
    options.batch_size = flags.batch_size;
    options.seed = flags.seed;
    const nnfuse::image_rows test_rows(data.test);
    options.validation_data = &test_rows;
    options.log = nullptr;  // the samples print their own compact table
    options.on_batch_end = [&](std::size_t epoch, std::size_t batch) {
        const bool last = batch + 1 == batches;
        if (last) ended_wall = wall_now(), ended_cpu = cpu_now();  // before the probe's own work
        if (!probe) return;
        if (epoch == 0 && batch == 0) probe(0);
        if (last) probe(epoch + 1);
    };
    options.on_epoch_end = [&](std::size_t epoch, const nnfuse::history& history) {
        const std::size_t e = history.epochs() - 1;
        const auto get = [&](const char* key) { return history.value(e, key).value_or(std::nan("")); };
        const epoch_row row{.epoch = epoch + 1,
                            .loss = get("loss"),
                            .accuracy = get("accuracy"),
                            .test_loss = get("val_loss"),
                            .test_accuracy = get("val_accuracy"),
                            .seconds = ended_wall - started_wall,
                            .cpu_seconds = ended_cpu - started_cpu};
        run.epochs.push_back(row);
        if (on_epoch) on_epoch(row);
        started_wall = wall_now(), started_cpu = cpu_now();
    };
    started_wall = wall_now(), started_cpu = cpu_now();
    try {
        trainer.fit(data.train, options);
    } catch (const nnfuse::training_diverged& error) {
        run.diverged = error.what();
    }
    return run;
}

std::string header_line() {
    return fmt::format("{:<10} {:>5} {:>8} {:>9} {:>9} {:>9} {:>8}", "variant", "epoch", "loss", "accuracy",
                       "test_loss", "test_acc", "seconds");
}

std::string row_line(const std::string& variant, const epoch_row& row) {
    return fmt::format("{:<10} {:>5} {:>8.4f} {:>9.4f} {:>9.4f} {:>9.4f} {:>8.3f}", variant, row.epoch, row.loss,
                       row.accuracy, row.test_loss, row.test_accuracy, row.seconds);
}

double mean_seconds(const variant_run& run, bool cpu) {
    if (run.epochs.empty()) return std::nan("");
    double sum = 0;
    for (const epoch_row& row : run.epochs) sum += cpu ? row.cpu_seconds : row.seconds;
    return sum / static_cast<double>(run.epochs.size());
}

void write_history_csv(std::span<const variant_run> runs, const std::filesystem::path& file) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(fmt::format("cannot write {}", file.string()));
    out << "variant,epoch,loss,accuracy,test_loss,test_accuracy,seconds\n";
    for (const variant_run& run : runs) {
        for (const epoch_row& row : run.epochs) {
            // Shortest text that reads back to the same double.
            out << fmt::format("{},{},{},{},{},{},{}\n", run.name, row.epoch, row.loss, row.accuracy, row.test_loss,
                               row.test_accuracy, row.seconds);
        }
    }
    out.flush();
    if (!out) throw std::runtime_error(fmt::format("cannot write {}", file.string()));
}

figure training_figure(std::span<const variant_run> runs, std::string title, std::span<const int> colors) {
    figure fig{std::move(title), {}};
    plot_panel loss{.title = "loss (cross-entropy): train solid, test dashed", .x_label = "epoch", .y_label = "loss"};
    plot_panel accuracy{.title = "accuracy: train solid, test dashed", .x_label = "epoch", .y_label = "accuracy"};
    // Train lines first, then test lines: the legend's two columns are train and test, one row per variant.
    for (const bool test : {false, true}) {
        for (std::size_t i = 0; i < runs.size(); ++i) {
            const variant_run& run = runs[i];
            const int color = i < colors.size() ? colors[i] : static_cast<int>(i);
            const std::string title = run.name + (test ? " test" : " train");
            plot_line loss_line{title, {}, {}, color, test}, accuracy_line{title, {}, {}, color, test};
            for (const epoch_row& row : run.epochs) {
                const double x = static_cast<double>(row.epoch);
                loss_line.x.push_back(x), loss_line.y.push_back(test ? row.test_loss : row.loss);
                accuracy_line.x.push_back(x), accuracy_line.y.push_back(test ? row.test_accuracy : row.accuracy);
            }
            loss.lines.push_back(std::move(loss_line));
            accuracy.lines.push_back(std::move(accuracy_line));
        }
    }
    fig.panels.push_back(std::move(loss));
    fig.panels.push_back(std::move(accuracy));
    return fig;
}

bool render_or_note(const figure& fig, const std::filesystem::path& file, std::ostream& note) {
    try {
        render(fig, file);
        return true;
    } catch (const plot_error& error) {
        note << "note: " << error.what() << "\n";
        return false;
    }
}

}  // namespace samples
