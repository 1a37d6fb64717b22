// nnfuse::codegen::render: prints a planned model as C++ and a manifest: <model>.gen.hpp (the Net's class),
// <model>.gen.cpp (the Net's member functions) and <model>.kernels.gen.cpp (the kernels, compiled once per SIMD
// target, and their dispatch functions, which the Net declares and calls): two translation units a build compiles
// in parallel.
//
// The printers decide nothing (plan.hpp decides): the C++ skeletons and the snippets are template files with
// ${placeholders} (codegen/templates/), filled with one kernel wrapper per kernel of the plan, the kernel headers
// those use, the storage the plan derived, and each generated function's statements. Each file starts with a banner
// naming the generator, the model and the command line (without machine paths). A file whose content did not
// change is not rewritten (write_if_changed).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "codegen/model_description.hpp"
#include "codegen/plan.hpp"
#include "codegen/text.hpp"

namespace nnfuse::codegen {

struct emit_request {
    std::string model;             // identifier: the namespace and the file stem
    std::string model_expression;  // "fashion_mnist::model"
    std::string model_header;      // "samples/fashion_mnist/model.hpp"
    std::string command_line;      // the banner drops its --templates and --out-dir values
    std::filesystem::path templates, out_dir;
};

struct generated_files {
    std::string header;   // <model>.gen.hpp
    std::string source;   // <model>.gen.cpp: the Net
    std::string kernels;  // <model>.kernels.gen.cpp: the per-target kernels and their dispatch functions
    std::string manifest;
};

generated_files render(const emit_request& request, const std::vector<layer_description>& layers,
                       const model_plan& plan);

}  // namespace nnfuse::codegen
