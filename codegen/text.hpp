// nnfuse::codegen text utilities: templates with ${placeholders}, indentation, files written only when changed.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace nnfuse::codegen {

// Writes `text` to `path` unless the file already holds exactly it; returns whether it wrote.
bool write_if_changed(const std::filesystem::path& path, const std::string& text);

// Replaces each ${key} in `text`; an unknown or unreplaced placeholder is an error naming it.
std::string fill_template(const std::string& text, const std::vector<std::pair<std::string, std::string>>& values,
                          const std::string& template_name);

// `text` with each line indented by `spaces` more.
std::string indented(const std::string& text, std::size_t spaces);

// The template files of one directory, each read once; fill() is fill_template on the file `name`.
class template_files {
public:
    explicit template_files(std::filesystem::path dir) : dir_(std::move(dir)) {}
    const std::string& text(const std::string& name);
    std::string fill(const std::string& name, const std::vector<std::pair<std::string, std::string>>& values) {
        return fill_template(text(name), values, name);
    }

private:
    std::filesystem::path dir_;
    std::map<std::string, std::string> texts_;
};

}  // namespace nnfuse::codegen
