// nnfuse-export: a trained checkpoint of one declared model as a standalone C++17 inference header
// (export/export.hpp). Built once per model by meson, like the generator (codegen/main.cpp), with
//   -DNNFUSE_MODEL_HEADER="samples/fashion_mnist/model.hpp" -DNNFUSE_MODEL=fashion_mnist::model
// and run by the user:
//   nnfuse-export-<model> --checkpoint FILE.safetensors --out predict.hpp [--namespace NS] [--input-scale K]
// --input-scale K: predict's x is multiplied by K first (folded into the weights), e.g. 0.00392156862745098 (1/255)
// to take raw 0..255 pixels where the Net was trained on pixels / 255.
// Exit status: 0 written; 1 nothing written: the checkpoint cannot be exported (one line naming the file and every
// tensor at fault) or the namespace is not an identifier; 2 a usage error.
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>

#include <fmt/core.h>

#include "codegen/model_description.hpp"
#include "export/export.hpp"

#include NNFUSE_MODEL_HEADER

#define NNFUSE_STRINGIFY_(x) #x
#define NNFUSE_STRINGIFY(x) NNFUSE_STRINGIFY_(x)

namespace {

constexpr const char* usage =
    "usage: {} --checkpoint FILE.safetensors --out predict.hpp [--namespace NS] [--input-scale K]\n";

}  // namespace

int main(int argc, char** argv) {
    namespace ex = nnfuse::exporter;
    ex::export_options options;
    options.model_expression = NNFUSE_STRINGIFY(NNFUSE_MODEL);
    options.model_header = NNFUSE_MODEL_HEADER;
    std::string checkpoint, out;
    const std::string program = argc > 0 ? argv[0] : "nnfuse-export";
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--help" || arg == "-h") {
            fmt::print(usage, program);
            return 0;
        } else if (arg == "--checkpoint" && has_value) {
            checkpoint = argv[++i];
        } else if (arg == "--out" && has_value) {
            out = argv[++i];
        } else if (arg == "--namespace" && has_value) {
            options.ns = argv[++i];
        } else if (arg == "--input-scale" && has_value) {
            const std::string value = argv[++i];
            std::size_t used = 0;
            try {
                options.input_scale = std::stod(value, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used != value.size() || !std::isfinite(options.input_scale) || options.input_scale == 0.0) {
                fmt::print(stderr, "{}: --input-scale '{}' is not a finite non-zero number\n", program, value);
                return 2;
            }
        } else {
            fmt::print(stderr, "{}: unknown argument '{}'{}\n", program, arg,
                       has_value || arg.rfind("--", 0) != 0 ? "" : " (or missing its value)");
            fmt::print(stderr, usage, program);
            return 2;
        }
    }
    if (checkpoint.empty() || out.empty()) {
        fmt::print(stderr, "{}: --checkpoint and --out are required\n", program);
        fmt::print(stderr, usage, program);
        return 2;
    }
    options.checkpoint_name = checkpoint;
    try {
        ex::export_checkpoint(nnfuse::codegen::describe(NNFUSE_MODEL), checkpoint, out, options);
    } catch (const std::exception& error) {
        fmt::print(stderr, "{}: {}\n", program, error.what());
        return 1;
    }
    return 0;
}
