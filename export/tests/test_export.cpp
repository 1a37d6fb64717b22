// The exported header against the trained Net: train a model briefly, save its weights, export them (through the
// nnfuse-export program for the sample models, through the library for the test models), compile the header
// with `g++ -std=c++17` and no other flag into driver.cpp, predict a test set, and compare with the Net's own
// inference (trainer::predict): every probability within 1e-5 relative or 1e-6 absolute, the same accuracy.
// Also: a checkpoint missing a tensor, or with one of the wrong shape or a NaN, is refused with one message
// naming the file and each tensor, and nothing is written.
//
// Environment (set by meson): NNFUSE_EXPORT_<MODEL> the exporter programs, NNFUSE_EXPORT_DRIVER driver.cpp,
// NNFUSE_EXPORT_CXX the C++ compiler (g++).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "bn_before_activation.gen.hpp"
#include "bn_before_activation_test.gen.hpp"
#include "codegen/model_description.hpp"
#include "dropout_edges_test.gen.hpp"
#include "export/export.hpp"
#include "fashion_mnist.gen.hpp"
#include "fashion_mnist_cnn.gen.hpp"
#include "fashion_mnist_torch.gen.hpp"
#include "frozen_bn_test.gen.hpp"
#include "normalized_classifier_test.gen.hpp"
#include "residual_cnn_test.gen.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/checkpoint/checkpoint_error.hpp"
#include "runtime/checkpoint/safetensors.hpp"
#include "runtime/data/fashion_mnist.hpp"
#include "runtime/optim/sgd.hpp"
#include "runtime/train/adapt.hpp"
#include "runtime/train/initialize.hpp"
#include "runtime/train/trainer.hpp"
#include "samples/bn_before_activation/model.hpp"
#include "samples/fashion_mnist/model.hpp"
#include "samples/fashion_mnist_cnn/model.hpp"
#include "small_cnn_test.gen.hpp"
#include "tests/models/test_models.hpp"
#include "tests/runtime/network/test_helpers.hpp"
#include "two_bn_test.gen.hpp"

namespace {

namespace fs = std::filesystem;

std::string env(const char* name) {
    const char* value = std::getenv(name);
    if (!value) FAIL("environment variable " << name << " is not set (run through meson test)");
    return value;
}

class scratch_dir {
public:
    explicit scratch_dir(const std::string& name)
        : path_(fs::temp_directory_path() / ("nnfuse-export-test-" + std::to_string(::getpid()) + "-" + name)) {
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~scratch_dir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    fs::path operator/(const std::string& name) const { return path_ / name; }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

std::string read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Runs a shell command, stdout and stderr into `log`; returns its exit status.
int run(const std::string& command, const fs::path& log) {
    const int status = std::system((command + " >'" + log.string() + "' 2>&1").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const nnfuse::fashion_mnist_data& fashion_mnist() {
    static const nnfuse::fashion_mnist_data data = nnfuse::load_fashion_mnist();
    return data;
}

// The set's pixels as predict's input: raw 0..255, or scaled like the trainer's batches (float(p) * (1.0f/255)).
std::vector<float> pixels_as_floats(const nnfuse::labeled_images& set, bool raw) {
    std::vector<float> x(set.pixels.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        x[i] = raw ? static_cast<float>(set.pixels[i]) : static_cast<float>(set.pixels[i]) * (1.0f / 255.0f);
    }
    return x;
}

double accuracy(const std::vector<float>& probabilities, const nnfuse::labeled_images& set, std::size_t classes) {
    std::size_t correct = 0;
    for (std::size_t r = 0; r < set.count; ++r) {
        const float* p = probabilities.data() + r * classes;
        correct += static_cast<std::size_t>(std::max_element(p, p + classes) - p) == set.labels[r];
    }
    return static_cast<double>(correct) / static_cast<double>(set.count);
}

// Compiles `header` (as predict.hpp, namespace exported) with driver.cpp in `dir` and returns its predictions.
// `optimize`: "" (the header needs no flag but the language standard) or e.g. " -O2" for a convolutional model,
// whose unoptimized loops would take minutes over a test set.
std::vector<float> exported_predictions(const scratch_dir& dir, const std::vector<float>& x, std::size_t rows,
                                        std::size_t classes, const std::string& optimize = "") {
    fs::copy_file(env("NNFUSE_EXPORT_DRIVER"), dir / "driver.cpp", fs::copy_options::overwrite_existing);
    const std::string cd = "cd '" + dir.path().string() + "' && ";
    const int compiled =
        run(cd + env("NNFUSE_EXPORT_CXX") + " -std=c++17" + optimize + " driver.cpp", dir / "compile.log");
    INFO("g++ -std=c++17" << optimize << " driver.cpp:\n" << read_text(dir / "compile.log"));
    REQUIRE(compiled == 0);
    // And without a warning where users turn them on.
    const int clean =
        run(cd + env("NNFUSE_EXPORT_CXX") + " -std=c++17 -Wall -Wextra -Wpedantic -Werror -fsyntax-only driver.cpp",
            dir / "warnings.log");
    INFO("g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror:\n" << read_text(dir / "warnings.log"));
    CHECK(clean == 0);
    {
        std::ofstream out(dir / "inputs.f32", std::ios::binary);
        out.write(reinterpret_cast<const char*>(x.data()), static_cast<std::streamsize>(x.size() * sizeof(float)));
    }
    const int predicted = run(cd + "./a.out inputs.f32 " + std::to_string(rows) + " outputs.f32", dir / "run.log");
    INFO("a.out:\n" << read_text(dir / "run.log"));
    REQUIRE(predicted == 0);
    std::vector<float> y(rows * classes);
    std::ifstream in(dir / "outputs.f32", std::ios::binary);
    in.read(reinterpret_cast<char*>(y.data()), static_cast<std::streamsize>(y.size() * sizeof(float)));
    REQUIRE(in.gcount() == static_cast<std::streamsize>(y.size() * sizeof(float)));
    return y;
}

// Every probability equal within 1e-5 relative (1e-6 absolute for the tiny ones), and the same accuracy.
void check_same_predictions(const std::string& model, const std::vector<float>& net, const std::vector<float>& exported,
                            const nnfuse::labeled_images& set, std::size_t classes) {
    REQUIRE(net.size() == exported.size());
    std::size_t outside = 0, first_outside = 0, argmax_differ = 0;
    double max_relative = 0.0, max_absolute = 0.0;
    for (std::size_t i = 0; i < net.size(); ++i) {
        const double difference = std::fabs(static_cast<double>(net[i]) - exported[i]);
        const double relative = difference / std::fabs(static_cast<double>(net[i]));
        max_absolute = std::max(max_absolute, difference);
        if (net[i] != 0.0f) max_relative = std::max(max_relative, relative);
        if (!(difference <= 1e-6 || relative <= 1e-5)) {
            if (outside++ == 0) first_outside = i;
        }
    }
    for (std::size_t r = 0; r < set.count; ++r) {
        const float* a = net.data() + r * classes;
        const float* b = exported.data() + r * classes;
        argmax_differ += std::max_element(a, a + classes) - a != std::max_element(b, b + classes) - b;
    }
    const double net_accuracy = accuracy(net, set, classes), exported_accuracy = accuracy(exported, set, classes);
    std::cout << model << ": " << set.count << " samples, max relative difference " << max_relative << ", max absolute "
              << max_absolute << ", " << argmax_differ << " argmax differ; accuracy Net " << net_accuracy
              << ", exported " << exported_accuracy << "\n";
    INFO(model << ": " << outside << " probabilities outside the tolerance, first at " << first_outside << ": Net "
               << net[first_outside] << ", exported " << exported[first_outside]);
    CHECK(outside == 0);
    CHECK(net_accuracy == exported_accuracy);
}

// A network with a normalization layer is adapted to the training rows first (as the trainer's batches see them).
template <class Net>
void train(Net& net, const nnfuse::labeled_images& train_set, std::size_t epochs) {
    nnfuse::initialize_variables(net, 42);
    if (net.as_normalization_statistics() != nullptr) {
        const std::vector<float> rows = pixels_as_floats(train_set, false);
        nnfuse::adapt(net, rows.data(), train_set.count);
    }
    nnfuse::sgd opt(0.01f);
    nnfuse::fit_options options;
    options.epochs = epochs;
    options.batch_size = 32;
    nnfuse::trainer(net, opt).fit(train_set, options);
}

// The first `count` images of a set (all of them for 0).
nnfuse::labeled_images first_images(const nnfuse::labeled_images& set, std::size_t count) {
    if (count == 0 || count >= set.count) return set;
    nnfuse::labeled_images part = set;
    part.count = count;
    part.pixels.resize(count * set.height * set.width);
    part.labels.resize(count);
    return part;
}

// How much of Fashion-MNIST a sample model is trained and tested on (0: all of it), and how its header is compiled.
struct sample_run {
    std::size_t train_images = 0, test_images = 0;
    std::string optimize;
};

// A sample model: trained one epoch on Fashion-MNIST, exported by its nnfuse-export program.
template <class Net>
void check_sample_model(const std::string& name, const char* exporter_variable, bool raw_pixels,
                        const sample_run& run_on = {}) {
    const auto& all = fashion_mnist();
    const nnfuse::fashion_mnist_data data{first_images(all.train, run_on.train_images),
                                          first_images(all.test, run_on.test_images)};
    Net net(33);
    train(net, data.train, 1);
    scratch_dir dir(name);
    nnfuse::save_weights(dir / "model.safetensors", net);
    const std::string command = env(exporter_variable) + " --checkpoint '" + (dir / "model.safetensors").string() +
                                "' --out '" + (dir / "predict.hpp").string() + "' --namespace exported" +
                                (raw_pixels ? " --input-scale 0.00392156862745098" : "");
    const int exported = run(command, dir / "export.log");
    INFO(command << "\n" << read_text(dir / "export.log"));
    REQUIRE(exported == 0);
    nnfuse::sgd unused;
    const auto net_probabilities = nnfuse::trainer(net, unused).predict(data.test, 32);
    const auto exported_probabilities = exported_predictions(dir, pixels_as_floats(data.test, raw_pixels),
                                                             data.test.count, Net::classes, run_on.optimize);
    check_same_predictions(name, net_probabilities, exported_probabilities, data.test, Net::classes);
}

// A test model on random images, exported through the library; 999 samples: predict ends on a partial block.
template <class Net, class Model>
void check_test_model(const std::string& name, const Model& model, std::size_t height, std::size_t width) {
    const auto train_set = test_support::random_images(2000, height, width, Net::classes, 3);
    const auto test_set = test_support::random_images(999, height, width, Net::classes, 4);
    Net net(33);
    train(net, train_set, 3);
    scratch_dir dir(name);
    nnfuse::save_weights(dir / "model.safetensors", net);
    nnfuse::exporter::export_options options;
    options.ns = "exported";
    nnfuse::exporter::export_checkpoint(nnfuse::codegen::describe(model), dir / "model.safetensors",
                                        dir / "predict.hpp", options);
    nnfuse::sgd unused;
    const auto net_probabilities = nnfuse::trainer(net, unused).predict(test_set, 32);
    const auto exported_probabilities =
        exported_predictions(dir, pixels_as_floats(test_set, false), test_set.count, Net::classes);
    check_same_predictions(name, net_probabilities, exported_probabilities, test_set, Net::classes);
}

}  // namespace

TEST_CASE(
    "the reference model exported (BN folded into the next dense layer's rows, 1/255 folded) predicts like the Net") {
    check_sample_model<nnfuse::generated::fashion_mnist::Net>("fashion_mnist", "NNFUSE_EXPORT_FASHION_MNIST", true);
}

TEST_CASE(
    "BN before the activation exported (BN folded into the previous dense layer's columns) predicts like the Net") {
    check_sample_model<nnfuse::generated::bn_before_activation::Net>("bn_before_activation",
                                                                     "NNFUSE_EXPORT_BN_BEFORE_ACTIVATION", false);
}

TEST_CASE("BN that cannot be folded, rank-2 BN, standalone activations and softmax export like the Net") {
    // two_bn: torch BN over 3 rows of 4 features folded through the flatten into dense; a BN without beta after
    // an elu dense (not foldable) with sigmoid fused; a standalone selu; a linear dense; softmax as its own layer.
    check_test_model<nnfuse::generated::two_bn_test::Net>("two_bn", test_models::two_bn, 3, 4);
    // bn_before_activation (test model): dense without bias -> BN -> tanh, folded into the dense layer's columns.
    check_test_model<nnfuse::generated::bn_before_activation_test::Net>("bn_before_activation_tanh",
                                                                        test_models::bn_before_activation, 1, 7);
    // frozen_bn: a BN without gamma after dense(elu), then selu: a scale/shift loop of its own.
    check_test_model<nnfuse::generated::frozen_bn_test::Net>("frozen_bn", test_models::frozen_bn, 1, 5);
    // dropout_edges: dropout layers (the identity in inference) after elu, before BN, at rate 0 and before softmax.
    check_test_model<nnfuse::generated::dropout_edges_test::Net>("dropout_edges", test_models::dropout_edges, 2, 3);
}

TEST_CASE("a normalization layer exports as the Net computes it, with the adapted statistics") {
    // normalized_classifier: Normalization over the last axis of 3 x 4 images (4 means and variances shared by the
    // rows), then flatten, dense(elu), dense(softmax). Adapted to the training images, then trained.
    check_test_model<nnfuse::generated::normalized_classifier_test::Net>("normalized_classifier",
                                                                         test_models::normalized_classifier, 3, 4);
}

TEST_CASE(
    "a checkpoint missing a tensor, with a mis-shaped or NaN one, or of another model is refused, naming the file") {
    nnfuse::generated::fashion_mnist::Net net(8);
    nnfuse::initialize_variables(net, 1);
    scratch_dir dir("bad_input");
    nnfuse::save_weights(dir / "good.safetensors", net);
    const auto good = nnfuse::read_safetensors(dir / "good.safetensors");

    // Rewrites the good checkpoint without gamma, with dense's kernel transposed, and with `nan_at` set to NaN.
    const auto write_defective = [&](const fs::path& file, bool drop_gamma, bool transpose_kernel,
                                     const std::string& nan_tensor) {
        std::vector<std::string> storage;
        storage.reserve(good.tensors().size());
        std::vector<nnfuse::tensor_to_write> tensors;
        for (const auto& [name, tensor] : good.tensors()) {
            if (drop_gamma && name == "batch_normalization/gamma:0") continue;
            storage.emplace_back(good.data(tensor));
            auto shape = tensor.shape;
            if (transpose_kernel && name == "dense/kernel:0") std::swap(shape[0], shape[1]);
            if (name == nan_tensor) {
                const float nan = std::nanf("");
                std::memcpy(storage.back().data() + 4 * 3, &nan, sizeof nan);
            }
            tensors.push_back(
                {name, tensor.dtype, shape, std::as_bytes(std::span(storage.back().data(), storage.back().size()))});
        }
        std::ofstream(file, std::ios::binary) << nnfuse::serialize_safetensors(tensors, good.metadata());
    };
    const auto layers = nnfuse::codegen::describe(fashion_mnist::model);
    const auto export_message = [&](const fs::path& file) -> std::string {
        try {
            nnfuse::exporter::export_checkpoint(layers, file, dir / "predict.hpp", {});
        } catch (const std::exception& error) {
            return error.what();
        }
        return "(no error)";
    };

    SECTION("missing and mis-shaped tensors: one message naming the file and each of them") {
        write_defective(dir / "bad.safetensors", true, true, "");
        const std::string message = export_message(dir / "bad.safetensors");
        INFO(message);
        CHECK(message.find((dir / "bad.safetensors").string() + ": ") == 0);
        CHECK(message.find("missing tensor `batch_normalization/gamma:0` (F32 (784,), layer batch_normalization)") !=
              std::string::npos);
        CHECK(message.find("tensor `dense/kernel:0` is F32 (20, 784), the model's layer dense expects F32 (784, 20)") !=
              std::string::npos);
        CHECK_FALSE(fs::exists(dir / "predict.hpp"));

        // The program says the same on stderr and exits 1.
        const std::string command = env("NNFUSE_EXPORT_FASHION_MNIST") + " --checkpoint '" +
                                    (dir / "bad.safetensors").string() + "' --out '" + (dir / "predict.hpp").string() +
                                    "'";
        CHECK(run(command, dir / "export.log") == 1);
        const std::string log = read_text(dir / "export.log");
        INFO(log);
        CHECK(log.find("missing tensor `batch_normalization/gamma:0`") != std::string::npos);
        CHECK_FALSE(fs::exists(dir / "predict.hpp"));
    }
    SECTION("a NaN weight: the tensor and index") {
        write_defective(dir / "nan.safetensors", false, false, "dense_1/kernel:0");
        const std::string message = export_message(dir / "nan.safetensors");
        INFO(message);
        CHECK(message.find((dir / "nan.safetensors").string() + ": ") == 0);
        CHECK(message.find("tensor `dense_1/kernel:0` holds nan at index 3") != std::string::npos);
        CHECK_FALSE(fs::exists(dir / "predict.hpp"));
    }
    SECTION("the same tensors from a model with other BN rules (torch profile, epsilon 1e-5): the layer named") {
        nnfuse::generated::fashion_mnist_torch::Net torch_net(8);
        nnfuse::initialize_variables(torch_net, 1);
        nnfuse::save_weights(dir / "torch.safetensors", torch_net);
        const std::string message = export_message(dir / "torch.safetensors");
        INFO(message);
        CHECK(message.find((dir / "torch.safetensors").string() +
                           ": cannot export: the checkpoint is of another model: "
                           "its layer 2 is \"batch_normalization (BatchNormalization) (None, 784) profile=torch") == 0);
        CHECK(message.find("the model's has profile=keras") != std::string::npos);
        CHECK_FALSE(fs::exists(dir / "predict.hpp"));
    }
    SECTION("a missing file: its name") {
        const std::string message = export_message(dir / "absent.safetensors");
        CHECK(message.find((dir / "absent.safetensors").string()) != std::string::npos);
    }
    SECTION("the good checkpoint exports, and the banner says what was folded") {
        CHECK(export_message(dir / "good.safetensors") == "(no error)");
        const std::string header = read_text(dir / "predict.hpp");
        CHECK(header.find("batch_normalization into the rows and bias of dense") != std::string::npos);
        CHECK(header.find("#include <cmath>\n#include <cstddef>\n\nnamespace nnfuse_model {") != std::string::npos);
    }
}

TEST_CASE(
    "the CNN sample exported (BN folded into each conv2d's filters, 1/255 into the first) predicts like the Net") {
    // Trained on 2,048 images (64 steps) and compared on the first 500 test images; the header compiled at -O2.
    check_sample_model<nnfuse::generated::fashion_mnist_cnn::Net>(
        "fashion_mnist_cnn", "NNFUSE_EXPORT_FASHION_MNIST_CNN", true,
        {.train_images = 2048, .test_images = 500, .optimize = " -O2"});
}

TEST_CASE(
    "strided, same-padded conv2d, max and average pooling, global pooling and a residual block export like the Net") {
    // small_cnn on 7 x 9 images: conv2d same (BN folded, elu), max pool 2x2 valid (7 x 9 -> 3 x 4), conv2d 3x3
    // strides 2 same with a bias and elu (padding 1 above and below, 0 left and 1 right: an odd total), average pool
    // 2x2 strides 1 same (the mean of the values inside only), global average pooling, dense softmax.
    check_test_model<nnfuse::generated::small_cnn_test::Net>("small_cnn", test_models::small_cnn, 7, 9);
    // residual_cnn on 6 x 6 images: conv2d(elu), then [conv2d no bias -> BN -> elu -> conv2d] + its input, global
    // average pooling, dense softmax: the block's input stays in scratch until the add reads it.
    check_test_model<nnfuse::generated::residual_cnn_test::Net>("residual_cnn", test_models::residual_cnn, 6, 6);
}

TEST_CASE("a convolutional checkpoint of another architecture is refused, naming the layer that differs") {
    nnfuse::generated::small_cnn_test::Net net(8);
    nnfuse::initialize_variables(net, 1);
    scratch_dir dir("convolutional");
    nnfuse::save_weights(dir / "w.safetensors", net);
    const auto good = nnfuse::read_safetensors(dir / "w.safetensors");
    const auto layers = nnfuse::codegen::describe(test_models::small_cnn);

    SECTION("the same tensors and shapes from a conv2d with other strides or padding") {
        // The strided conv2d's line with strides=(1, 1): its tensors are the same, only the metadata tells.
        auto metadata = good.metadata();
        std::string& architecture = metadata.at("architecture");
        const auto at = architecture.find("strides=(2, 2) padding=same");
        REQUIRE(at != std::string::npos);
        architecture.replace(at, std::string("strides=(2, 2)").size(), "strides=(1, 1)");
        std::vector<nnfuse::tensor_to_write> tensors;
        for (const auto& [name, tensor] : good.tensors()) {
            const std::string_view bytes = good.data(tensor);
            tensors.push_back({name, tensor.dtype, tensor.shape, std::as_bytes(std::span(bytes.data(), bytes.size()))});
        }
        std::ofstream(dir / "strides.safetensors", std::ios::binary)
            << nnfuse::serialize_safetensors(tensors, metadata);
        CHECK_THROWS_WITH(nnfuse::exporter::export_checkpoint(layers, dir / "strides.safetensors", dir / "p.hpp", {}),
                          Catch::Contains((dir / "strides.safetensors").string() +
                                          ": cannot export: the checkpoint is of another model: its layer 6 is "
                                          "\"conv2d_1 (Conv2D)") &&
                              Catch::Contains("the model's has strides=(2, 2)"));
        CHECK_FALSE(fs::exists(dir / "p.hpp"));
    }
    SECTION("a dense model's checkpoint given to the CNN sample's exporter: exit 1, nothing written") {
        nnfuse::generated::fashion_mnist::Net dense(8);
        nnfuse::initialize_variables(dense, 1);
        nnfuse::save_weights(dir / "dense.safetensors", dense);
        const std::string command = env("NNFUSE_EXPORT_FASHION_MNIST_CNN") + " --checkpoint '" +
                                    (dir / "dense.safetensors").string() + "' --out '" + (dir / "p.hpp").string() + "'";
        CHECK(run(command, dir / "export.log") == 1);
        const std::string log = read_text(dir / "export.log");
        INFO(log);
        CHECK(log.find("its layer 1 is \"flatten (Flatten) (None, 784)\", the model's starts \"reshape (Reshape) "
                       "(None, 28, 28, 1)\"") != std::string::npos);
        CHECK_FALSE(fs::exists(dir / "p.hpp"));
    }
    SECTION("the good checkpoint exports; the banner names the folds and the steps") {
        nnfuse::exporter::export_checkpoint(layers, dir / "w.safetensors", dir / "p.hpp", {});
        const std::string header = read_text(dir / "p.hpp");
        CHECK(header.find("batch_normalization into the filters and bias of conv2d, which then applies elu") !=
              std::string::npos);
        CHECK(header.find("conv2d 3x3 strides 2x2 same 3x4x4 -> 2x2x5: conv2d_1, elu fused") != std::string::npos);
    }
}

TEST_CASE("a namespace that is not an identifier is refused") {
    nnfuse::generated::fashion_mnist::Net net(8);
    nnfuse::initialize_variables(net, 1);
    scratch_dir dir("namespace");
    nnfuse::save_weights(dir / "w.safetensors", net);
    nnfuse::exporter::export_options options;
    options.ns = "my-model";
    CHECK_THROWS_WITH(nnfuse::exporter::export_checkpoint(nnfuse::codegen::describe(fashion_mnist::model),
                                                          dir / "w.safetensors", dir / "p.hpp", options),
                      Catch::Contains("namespace 'my-model' is not a C++ identifier"));
}
