// nnfuse-gen: generates the Net of a model declared in the caller's own source tree, from any build system.
//   nnfuse-gen --header path/to/model.hpp --model my::model --name mymodel --out-dir DIR
//              [--depfile FILE] [--no-fold] [-I DIR]...
// requires: the header declares the model expression (a C++ expression of an nnfuse::model); NAME is a C++
//           identifier (the namespace nnfuse::generated::NAME and the file stem).
// ensures:  DIR holds NAME.gen.hpp, NAME.gen.cpp (the Net), NAME.kernels.gen.cpp (its kernels, compiled once per
//           SIMD target: a second translation unit to compile beside NAME.gen.cpp) and NAME.manifest.md (each
//           rewritten only if its content changed); with --depfile, FILE lists every header the model pulled in
//           (Makefile syntax, target DIR/NAME.gen.hpp), so a build reruns the generator when any of them changes.
// How: the model is C++ types, so it must be compiled. This program compiles nnfuse's generator entry point
// (codegen/main.cpp, installed as share/nnfuse/main.cpp) with the user's header, with the C++ compiler nnfuse
// was built with, links it against the codegen library, and runs it (DIR/NAME.nnfuse-gen/ keeps the driver).
// Built twice: `nnfuse-gen` (installed; finds include/, lib/ and share/ relative to its own location, so an
// install staged with --destdir works as well) and `nnfuse-gen-uninstalled` (nnfuse as a meson subproject;
// absolute paths into its source and build trees).
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;

const char* const usage =
    "usage: nnfuse-gen --header FILE --model EXPRESSION --name NAME --out-dir DIR [--depfile FILE] [--no-fold] "
    "[-I DIR]...\n";

// Where nnfuse's pieces are: relative to the install prefix (installed build) or absolute (uninstalled).
struct layout {
    fs::path include, codegen_library, main_source, templates;
};

layout find_layout() {
    layout where{NNFUSE_GEN_INCLUDE, NNFUSE_GEN_CODEGEN_LIB, NNFUSE_GEN_MAIN, NNFUSE_GEN_TEMPLATES};
    const std::string bindir = NNFUSE_GEN_BINDIR;  // empty: the paths above are absolute
    if (bindir.empty()) return where;
    fs::path prefix = fs::canonical("/proc/self/exe").parent_path();
    for (const auto& part : fs::path(bindir)) {
        if (!part.empty() && part != ".") prefix = prefix.parent_path();
    }
    for (fs::path* p : {&where.include, &where.codegen_library, &where.main_source, &where.templates}) {
        *p = prefix / *p;
    }
    return where;
}

std::vector<std::string> split_words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> words;
    for (std::string word; in >> word;) words.push_back(word);
    return words;
}

std::string quoted(const std::vector<std::string>& command) {
    std::string line;
    for (const auto& word : command) line += (line.empty() ? "" : " ") + word;
    return line;
}

// Runs `command` (no shell); returns its exit status, or -1 if it could not start or was killed.
int run(const std::vector<std::string>& command) {
    std::vector<char*> argv;
    for (const auto& word : command) argv.push_back(const_cast<char*>(word.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

}  // namespace

int main(int argc, char** argv) {
    std::string header, model, name, out_dir, depfile;
    std::vector<std::string> include_dirs, generator_flags;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--header" && has_value) {
            header = argv[++i];
        } else if (arg == "--model" && has_value) {
            model = argv[++i];
        } else if (arg == "--name" && has_value) {
            name = argv[++i];
        } else if (arg == "--out-dir" && has_value) {
            out_dir = argv[++i];
        } else if (arg == "--depfile" && has_value) {
            depfile = argv[++i];
        } else if (arg == "-I" && has_value) {
            include_dirs.push_back(argv[++i]);
        } else if (arg == "--no-fold") {
            generator_flags.push_back(arg);
        } else {
            std::fprintf(stderr, "nnfuse-gen: unknown argument '%s'\n%s", arg.c_str(), usage);
            return 2;
        }
    }
    if (header.empty() || model.empty() || name.empty() || out_dir.empty()) {
        std::fprintf(stderr, "nnfuse-gen: --header, --model, --name and --out-dir are required\n%s", usage);
        return 2;
    }
    std::error_code error;
    const fs::path header_path = fs::absolute(header);
    if (!fs::is_regular_file(header_path, error)) {
        std::fprintf(stderr, "nnfuse-gen: --header %s: no such file\n", header.c_str());
        return 2;
    }
    const layout where = find_layout();
    for (const fs::path& needed : {where.include / "dsl/nnfuse.hpp", where.codegen_library, where.main_source}) {
        if (!fs::exists(needed, error)) {
            std::fprintf(stderr, "nnfuse-gen: nnfuse is incomplete: %s is missing\n", needed.c_str());
            return 2;
        }
    }
    const fs::path work = fs::path(out_dir) / (name + ".nnfuse-gen");
    fs::create_directories(work, error);
    if (error) {
        std::fprintf(stderr, "nnfuse-gen: cannot create %s: %s\n", work.c_str(), error.message().c_str());
        return 2;
    }
    const std::string driver = (work / "generate").string();

    // The driver: today's generator entry point with the model compiled in (no optimization: it only plans).
    std::vector<std::string> compile = split_words(NNFUSE_GEN_CXX);
    compile.insert(compile.end(), {"-std=c++20", "-I" + where.include.string()});
    for (const auto& dir : include_dirs) compile.push_back("-I" + fs::absolute(dir).string());
    compile.push_back("-DNNFUSE_MODEL_HEADER=\"" + header_path.string() + "\"");
    compile.push_back("-DNNFUSE_MODEL=" + model);
    if (!depfile.empty()) {
        compile.insert(compile.end(),
                       {"-MD", "-MF", depfile, "-MT", (fs::path(out_dir) / (name + ".gen.hpp")).string()});
    }
    compile.insert(compile.end(), {where.main_source.string(), where.codegen_library.string()});
    for (const auto& word : split_words(NNFUSE_GEN_LIBS)) compile.push_back(word);
    compile.insert(compile.end(), {"-o", driver});
    if (run(compile) != 0) {
        std::fprintf(stderr, "nnfuse-gen: compiling model %s from %s failed:\n  %s\n", model.c_str(), header.c_str(),
                     quoted(compile).c_str());
        return 1;
    }

    // The compiler's depfile names the headers; the output also depends on the templates and the codegen library.
    if (!depfile.empty()) {
        std::string rule;
        {
            std::ifstream in(depfile);
            rule.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
        while (!rule.empty() && (rule.back() == '\n' || rule.back() == ' ')) rule.pop_back();
        for (const auto& entry : fs::directory_iterator(where.templates, error)) {
            rule += " \\\n " + entry.path().string();
        }
        rule += " \\\n " + where.codegen_library.string() + "\n";
        std::ofstream out(depfile, std::ios::trunc);
        out << rule;
        if (!out) {
            std::fprintf(stderr, "nnfuse-gen: cannot write %s\n", depfile.c_str());
            return 1;
        }
    }

    std::vector<std::string> generate = {driver,      "--name", name, "--templates", where.templates.string(),
                                         "--out-dir", out_dir};
    generate.insert(generate.end(), generator_flags.begin(), generator_flags.end());
    const int status = run(generate);
    if (status != 0) {
        std::fprintf(stderr, "nnfuse-gen: generating model %s failed (status %d):\n  %s\n", model.c_str(), status,
                     quoted(generate).c_str());
        return 1;
    }
    return 0;
}
