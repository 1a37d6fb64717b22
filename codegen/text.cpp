#include "codegen/text.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/core.h>

namespace nnfuse::codegen {

std::string fill_template(const std::string& text, const std::vector<std::pair<std::string, std::string>>& values,
                          const std::string& template_name) {
    std::string out;
    std::size_t at = 0;
    while (true) {
        const std::size_t open = text.find("${", at);
        if (open == std::string::npos) break;
        const std::size_t close = text.find('}', open);
        if (close == std::string::npos) throw std::runtime_error(fmt::format("{}: unclosed ${{", template_name));
        const std::string key = text.substr(open + 2, close - open - 2);
        auto found = std::find_if(values.begin(), values.end(), [&](const auto& kv) { return kv.first == key; });
        if (found == values.end())
            throw std::runtime_error(fmt::format("{}: no value for ${{{}}}", template_name, key));
        out.append(text, at, open - at);
        out += found->second;
        at = close + 1;
    }
    out.append(text, at);
    return out;
}

bool write_if_changed(const std::filesystem::path& path, const std::string& text) {
    {
        std::ifstream in(path, std::ios::binary);
        if (in) {
            std::ostringstream existing;
            existing << in.rdbuf();
            if (existing.str() == text) return false;
        }
    }
    const std::filesystem::path temporary = path.string() + ".tmp";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out.flush()) throw std::runtime_error(fmt::format("cannot write {}", temporary.string()));
    }
    std::filesystem::rename(temporary, path);
    return true;
}

std::string indented(const std::string& text, std::size_t spaces) {
    std::string out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        out += (line.empty() ? "" : std::string(spaces, ' ')) + line + "\n";
    return out;
}

const std::string& template_files::text(const std::string& name) {
    auto found = texts_.find(name);
    if (found != texts_.end()) return found->second;
    std::ifstream in(dir_ / name, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("cannot read template {}", (dir_ / name).string()));
    std::ostringstream text;
    text << in.rdbuf();
    return texts_.emplace(name, text.str()).first->second;
}

}  // namespace nnfuse::codegen
