// nnfuse::codegen::emit: writes a planned model as C++ (<model>.gen.hpp / .gen.cpp) and a manifest.
//
// The C++ skeletons are real files with ${placeholders} (codegen/templates/); this code fills them
// with one kernel wrapper per distinct kernel, named by the grammar
//   <op>_<dir>_f32_<shape>[_<activation>][_<variant>]   e.g. bn_fwd_train_f32_c784, dense_bwd_f32_k784_n20_elu
// and the Net's forward/backward as straight-line calls. Each file starts with a banner naming the
// generator, the model and the command line. A file whose content did not change is not rewritten.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "codegen/model_description.hpp"
#include "codegen/plan.hpp"

namespace nnfuse::codegen {

struct emit_request {
    std::string model;              // identifier: the namespace and the file stem
    std::string model_expression;   // "fashion_mnist::model"
    std::string model_header;       // "samples/fashion_mnist/model.hpp"
    std::string command_line;
    std::filesystem::path templates, out_dir;
};

struct generated_files {
    std::string header, source, manifest;
};

generated_files render(const emit_request& request, const std::vector<layer_description>& layers, const model_plan& plan);

// Writes `text` to `path` unless the file already holds exactly it; returns whether it wrote.
bool write_if_changed(const std::filesystem::path& path, const std::string& text);

// Replaces each ${key} in `text`; an unknown or unreplaced placeholder is an error naming it.
std::string fill_template(const std::string& text, const std::vector<std::pair<std::string, std::string>>& values,
                          const std::string& template_name);

}  // namespace nnfuse::codegen
