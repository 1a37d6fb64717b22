// wrap_long_lines (codegen/line_wrap.hpp): short lines untouched, long calls and declarations broken between their
// items with continuation lines aligned after the '(', long comments broken between words, and nothing lost.
#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "codegen/line_wrap.hpp"

namespace {

using nnfuse::codegen::wrap_long_lines;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string without_spaces(std::string text) {
    text.erase(std::remove_if(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\n'; }), text.end());
    return text;
}

std::size_t longest(const std::string& text) {
    std::size_t n = 0;
    for (const auto& line : lines_of(text)) n = std::max(n, line.size());
    return n;
}

}  // namespace

TEST_CASE("wrap_long_lines keeps lines that fit, byte for byte", "[codegen][wrap]") {
    const std::string text = "    f(a, b);\n\n// short comment\nint x = g(1, 2, 3);\n";
    CHECK(wrap_long_lines(text, 40) == text);
    CHECK(wrap_long_lines("no newline at the end", 40) == "no newline at the end");
}

TEST_CASE("wrap_long_lines breaks a call between its arguments, aligned after the parenthesis", "[codegen][wrap]") {
    const std::string call = "    kernels::Dense<784, 20>(x, rows, kernel, bias, y, scratch_one, scratch_two, result);";
    const std::string wrapped = wrap_long_lines(call, 80);
    const auto lines = lines_of(wrapped);
    REQUIRE(lines.size() >= 2);
    CHECK(longest(wrapped) <= 80);
    CHECK(without_spaces(wrapped) == without_spaces(call));
    const std::size_t after_paren = call.find('(') + 1;
    CHECK(lines[0].substr(0, after_paren) == call.substr(0, after_paren));
    for (std::size_t i = 1; i < lines.size(); ++i) {
        CHECK(lines[i].find_first_not_of(' ') == after_paren);
    }
    CHECK(lines.back().ends_with("result);"));
    // The template arguments' commas are not the call's: "<784, 20>" stays on the first line.
    CHECK(lines[0].find("Dense<784, 20>(") != std::string::npos);
}

TEST_CASE("wrap_long_lines skips a list of one item and never cuts inside a nested call or a string",
          "[codegen][wrap]") {
    const std::string line =
        "    if (ready) out = combine(first_argument(a, b), \"text, with, commas\", third_argument);";
    const std::string wrapped = wrap_long_lines(line, 60);
    CHECK(without_spaces(wrapped) == without_spaces(line));
    CHECK(wrapped.find("first_argument(a, b),") != std::string::npos);
    CHECK(wrapped.find("\"text, with, commas\",") != std::string::npos);
    CHECK(lines_of(wrapped).front().starts_with("    if (ready) out = combine("));
}

TEST_CASE("wrap_long_lines indents 8 more when the parenthesis is too far right", "[codegen][wrap]") {
    const std::string line =
        "    const auto a_rather_long_name_for_a_result_value = function_with_long_name(alpha, beta);";
    const auto lines = lines_of(wrap_long_lines(line, 80));
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "    const auto a_rather_long_name_for_a_result_value = function_with_long_name(");
    CHECK(lines[1] == "            alpha, beta);");
}

TEST_CASE("wrap_long_lines breaks a long comment between words, same indentation", "[codegen][wrap]") {
    const std::string comment = "    // one two three four five six seven eight nine ten eleven twelve";
    const auto lines = lines_of(wrap_long_lines(comment, 30));
    REQUIRE(lines.size() >= 3);
    std::string words;
    for (const auto& line : lines) {
        CHECK(line.size() <= 30);
        CHECK(line.starts_with("    // "));
        words += line.substr(7) + " ";
    }
    CHECK(words == "one two three four five six seven eight nine ten eleven twelve ");
}

TEST_CASE("wrap_long_lines leaves an item longer than the width whole", "[codegen][wrap]") {
    const std::string line = "f(an_argument_name_that_is_far_longer_than_the_width, b);";
    const std::string wrapped = wrap_long_lines(line, 20);
    CHECK(without_spaces(wrapped) == without_spaces(line));
    CHECK(wrapped.find("an_argument_name_that_is_far_longer_than_the_width,") != std::string::npos);
}
