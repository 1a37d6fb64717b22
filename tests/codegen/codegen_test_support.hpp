// Helpers of the codegen tests: reading a plan's statements (where a statement is, what it calls, the storage it
// reads and writes), a render request without machine paths, and a generated function's text.
// requires: NNFUSE_SOURCE_ROOT, the source tree (the templates are read from it).
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "codegen/emit.hpp"
#include "codegen/plan.hpp"

namespace codegen_test {

namespace cg = nnfuse::codegen;

inline std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

inline cg::emit_request request_for(const std::string& name) {
    cg::emit_request request;
    request.model = name;
    request.model_expression = name + "::model";
    request.model_header = "model.hpp";
    request.command_line = "nnfuse-gen --name " + name +
                           " --templates /home/someone/checkout/codegen/templates "
                           "--out-dir /tmp/build/codegen";
    request.templates = std::filesystem::path(NNFUSE_SOURCE_ROOT) / "codegen" / "templates";
    return request;
}

// The text of a generated function, from its signature (which `signature` starts) to its closing brace.
inline std::string function_text(const std::string& source, const std::string& signature) {
    const std::size_t begin = source.find(signature);
    REQUIRE(begin != std::string::npos);
    return source.substr(begin, source.find("\n}\n", begin) + 3 - begin);
}

// Where the statement `id` is in `statements` (fails the test when it is not there).
inline std::size_t index_of(const std::vector<cg::statement>& statements, const std::string& id) {
    const auto found =
        std::find_if(statements.begin(), statements.end(), [&](const cg::statement& s) { return s.id == id; });
    INFO(id);
    REQUIRE(found != statements.end());
    return static_cast<std::size_t>(found - statements.begin());
}

// The name of the kernel or runtime function statement `s` calls ("" for a statement that is no call).
inline std::string callee(const cg::model_plan& plan, const cg::statement& s) {
    const auto* c = std::get_if<cg::call>(&s.action);
    if (c == nullptr) return {};
    return c->kernel ? plan.kernels.at(*c->kernel).name : c->signature->function;
}

// The argument passed for the parameter called `parameter` of the call statement `s`.
inline const cg::argument& argument_for(const cg::statement& s, const std::string& parameter) {
    const auto* c = std::get_if<cg::call>(&s.action);
    REQUIRE(c != nullptr);
    for (std::size_t i = 0; i < c->arguments.size(); ++i) {
        if (c->signature->parameters[i].name == parameter) return c->arguments[i];
    }
    FAIL("no parameter " << parameter);
    return c->arguments.front();
}

inline std::vector<std::string> names(const std::vector<cg::storage>& list) {
    std::vector<std::string> out;
    for (const auto& s : list) out.push_back(s.name);
    return out;
}

inline bool contains(const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
}

inline bool reads_or_writes(const cg::statement& s, const std::string& name) {
    return contains(names(s.inputs()), name) || contains(names(s.outputs()), name);
}

}  // namespace codegen_test
