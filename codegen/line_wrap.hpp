// nnfuse::codegen::wrap_long_lines: generated C++ kept within the project's line length, broken as clang-format
// breaks a call or a declaration, so that a generated file reads like the hand-written ones.
//
// ensures: a line of at most `width` columns, or a preprocessor directive, is kept as it is. A longer `//` comment line
// is broken between words,
//   each piece with the same indentation and "// ". A longer code line is broken in the first parenthesized list
//   whose top-level commas (outside (), [], {} and string literals) separate two or more items: the items are packed
//   greedily, continuation lines aligned one column after that '(' (or indented 8 more than the line when that
//   column leaves fewer than 40 columns). An item that does not fit even alone stays whole: the result is never
//   cut inside an item, only between them, so the text still compiles to the same program.
#pragma once

#include <cstddef>
#include <string>

namespace nnfuse::codegen {

std::string wrap_long_lines(const std::string& text, std::size_t width = 120);

}  // namespace nnfuse::codegen
