#!/usr/bin/env python3
"""Writes each ```cpp block of a Markdown file to its own .cpp file, for the test suite to compile and run.

usage: extract_snippets.py MARKDOWN OUT_DIR COUNT
ensures: OUT_DIR/readme_snippet_<i>.cpp (i = 1..COUNT) holds the i-th ```cpp block, after a #line directive
         naming MARKDOWN and the block's first line, so that a compile error points into the Markdown file.
         A file whose content would not change is not rewritten, so an edit elsewhere rebuilds nothing.
Exits 1 with one line naming the file and line when MARKDOWN has not exactly COUNT ```cpp blocks (the count
is fixed in tests/readme/meson.build, which must list one executable per block) or a block is not closed.
"""
import os
import sys

markdown, out_dir, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
path = os.path.abspath(markdown)

blocks = []  # (line number of the block's first code line, code)
start = None
with open(path, encoding="utf-8") as file:
    for number, line in enumerate(file, start=1):
        fence = line.strip()
        if start is None:
            if fence == "```cpp":
                start, code = number + 1, []
        elif fence == "```":
            blocks.append((start, "".join(code)))
            start = None
        else:
            code.append(line)
if start is not None:
    sys.exit(f"{path}:{start - 1}: the ```cpp block opened here is never closed")
if len(blocks) != expected:
    sys.exit(f"{path}: {len(blocks)} ```cpp blocks, but tests/readme/meson.build compiles {expected}; "
             f"update readme_snippet_count there (one test per block)")

for index, (first_line, code) in enumerate(blocks, start=1):
    text = f'#line {first_line} "{path}"\n{code}'
    target = os.path.join(out_dir, f"readme_snippet_{index}.cpp")
    try:
        with open(target, encoding="utf-8") as existing:
            if existing.read() == text:
                continue
    except FileNotFoundError:
        pass
    with open(target, "w", encoding="utf-8") as file:
        file.write(text)
