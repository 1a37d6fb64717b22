#include "codegen/line_wrap.hpp"

#include <sstream>
#include <vector>

namespace nnfuse::codegen {

namespace {

constexpr std::size_t kMinimumAlignedColumns = 40;
constexpr std::size_t kContinuationIndent = 8;

std::size_t leading_spaces(const std::string& line) {
    const std::size_t first = line.find_first_not_of(' ');
    return first == std::string::npos ? line.size() : first;
}

std::string wrap_comment(const std::string& line, std::size_t width) {
    const std::string prefix = std::string(leading_spaces(line), ' ') + "// ";
    std::istringstream words(line.substr(leading_spaces(line) + 2));
    std::string out, current;
    for (std::string word; words >> word;) {
        if (!current.empty() && current.size() + 1 + word.size() > width) {
            out += current + "\n";
            current.clear();
        }
        current += current.empty() ? prefix + word : " " + word;
    }
    return out + current;
}

// The items of the parenthesized list opening at `open`, split at its top-level commas, and where it closes.
struct list_items {
    std::vector<std::string> items;
    std::size_t close = std::string::npos;
};

list_items split_list(const std::string& line, std::size_t open) {
    list_items list;
    int depth = 0;
    bool in_string = false;
    std::size_t item_begin = open + 1;
    for (std::size_t i = open; i < line.size(); ++i) {
        const char c = line[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"')
            in_string = true;
        else if (c == '(' || c == '[' || c == '{')
            ++depth;
        else if (c == ')' || c == ']' || c == '}') {
            if (--depth == 0) {
                list.items.push_back(line.substr(item_begin, i - item_begin));
                list.close = i;
                return list;
            }
        } else if (c == ',' && depth == 1) {
            list.items.push_back(line.substr(item_begin, i - item_begin));
            item_begin = i + 1;
        }
    }
    return {};  // unbalanced: not a list this wrapper understands
}

void trim(std::string& item) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
}

std::string wrap_code(const std::string& line, std::size_t width) {
    bool in_string = false;
    for (std::size_t open = 0; open < line.size(); ++open) {
        if (line[open] == '"' && (open == 0 || line[open - 1] != '\\')) in_string = !in_string;
        if (in_string || line[open] != '(') continue;
        list_items list = split_list(line, open);
        if (list.items.size() < 2) {
            if (list.close == std::string::npos) return line;
            open = list.close;  // a list of one item: look for a later one
            continue;
        }
        for (std::string& item : list.items) trim(item);
        const bool aligned = open + 1 + kMinimumAlignedColumns <= width;
        const std::string indent(aligned ? open + 1 : leading_spaces(line) + kContinuationIndent, ' ');
        const std::string suffix = line.substr(list.close);
        std::string out = line.substr(0, open + 1), current = aligned ? "" : "\n" + indent;
        std::size_t column = indent.size();  // where the next item goes: the start of a line while equal
        for (std::size_t i = 0; i < list.items.size(); ++i) {
            const bool last = i + 1 == list.items.size();
            const std::string piece = list.items[i] + (last ? suffix : ",");
            if (column != indent.size() && column + 1 + piece.size() > width) {
                out += current + "\n";
                current = indent;
                column = indent.size();
            }
            current += (column == indent.size() ? "" : " ") + piece;
            column += (column == indent.size() ? 0 : 1) + piece.size();
        }
        return out + current;
    }
    return line;
}

}  // namespace

std::string wrap_long_lines(const std::string& text, std::size_t width) {
    std::string out;
    std::size_t begin = 0;
    while (begin < text.size()) {
        std::size_t end = text.find('\n', begin);
        const bool has_newline = end != std::string::npos;
        if (!has_newline) end = text.size();
        const std::string line = text.substr(begin, end - begin);
        if (line.size() <= width || line.compare(leading_spaces(line), 1, "#") == 0) {  // a directive is one line
            out += line;
        } else if (line.compare(leading_spaces(line), 2, "//") == 0) {
            out += wrap_comment(line, width);
        } else {
            out += wrap_code(line, width);
        }
        if (has_newline) out += '\n';
        begin = end + 1;
    }
    return out;
}

}  // namespace nnfuse::codegen
