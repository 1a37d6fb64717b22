// nnfuse-gen: generates the C++ of one declared model. Built once per model by meson, with
//   -DNNFUSE_MODEL_HEADER="samples/fashion_mnist/model.hpp" -DNNFUSE_MODEL=fashion_mnist::model
// and run at build time:  nnfuse-gen --name fashion_mnist --templates DIR --out-dir DIR [--no-fold]
// --no-fold keeps every batch_norm step separate (plan.hpp); the tests build such a twin of a model to check
// that the folded path computes the same.
// Writes <name>.gen.hpp, <name>.gen.cpp (the Net), <name>.kernels.gen.cpp (its kernels, per SIMD target) and
// <name>.manifest.md, each only if its content changed.
#include <cstdio>
#include <exception>
#include <string>

#include <fmt/core.h>

#include "codegen/emit.hpp"
#include "codegen/model_description.hpp"
#include "codegen/plan.hpp"

#include NNFUSE_MODEL_HEADER

#define NNFUSE_STRINGIFY_(x) #x
#define NNFUSE_STRINGIFY(x) NNFUSE_STRINGIFY_(x)

int main(int argc, char** argv) {
    namespace cg = nnfuse::codegen;
    cg::emit_request request;
    request.model_expression = NNFUSE_STRINGIFY(NNFUSE_MODEL);
    request.model_header = NNFUSE_MODEL_HEADER;
    request.command_line = "nnfuse-gen";
    cg::plan_options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        request.command_line += " " + arg;
        const bool has_value = i + 1 < argc;
        if (arg == "--name" && has_value) {
            request.model = argv[++i];
        } else if (arg == "--templates" && has_value) {
            request.templates = argv[++i];
        } else if (arg == "--out-dir" && has_value) {
            request.out_dir = argv[++i];
        } else if (arg == "--no-fold") {
            options.fold_bn_into_dense = false;
            options.fold_bn_into_conv_for_inference = false;
            options.bn_moments_in_conv_epilogue = false;
            options.bn_applied_by_next_layer = false;
        } else {
            fmt::print(stderr,
                       "nnfuse-gen: unknown argument '{}'\nusage: nnfuse-gen --name NAME --templates DIR --out-dir DIR "
                       "[--no-fold]\n",
                       arg);
            return 2;
        }
        if (i < argc && (arg == "--name" || arg == "--templates" || arg == "--out-dir"))
            request.command_line += std::string(" ") + argv[i];
    }
    if (request.model.empty() || request.templates.empty() || request.out_dir.empty()) {
        fmt::print(stderr, "usage: nnfuse-gen --name NAME --templates DIR --out-dir DIR\n");
        return 2;
    }
    try {
        const auto layers = cg::describe(NNFUSE_MODEL);
        const auto plan = cg::make_plan(layers, cg::describe_loss(NNFUSE_MODEL), options);
        const auto files = cg::render(request, layers, plan);
        cg::write_if_changed(request.out_dir / (request.model + ".gen.hpp"), files.header);
        cg::write_if_changed(request.out_dir / (request.model + ".gen.cpp"), files.source);
        cg::write_if_changed(request.out_dir / (request.model + ".kernels.gen.cpp"), files.kernels);
        cg::write_if_changed(request.out_dir / (request.model + ".manifest.md"), files.manifest);
    } catch (const std::exception& error) {
        fmt::print(stderr, "nnfuse-gen: model {} ({}): {}\n", request.model_expression, request.model_header,
                   error.what());
        return 1;
    }
    return 0;
}
