#!/usr/bin/env python3
"""A compile-fail case: a source that must not compile with -DNNFUSE_MISUSE, must compile without.

usage: check_compile_fail.py SOURCE -- COMPILER [FLAGS...]
SOURCE names the message the compiler must print in a line `// expect: <text>`. The case passes
when the misuse fails to compile and the compiler's output contains that text, and the allowed twin
(the same file without NNFUSE_MISUSE) compiles cleanly.
"""
import re
import subprocess
import sys

source = sys.argv[1]
compiler = sys.argv[sys.argv.index("--") + 1:]
match = re.search(r"^// expect: (.+)$", open(source, encoding="utf-8").read(), re.MULTILINE)
if not match:
    sys.exit(f"{source}: no '// expect: <message>' line")
expected = match.group(1).strip()


def compile(*defines):
    run = subprocess.run(compiler + ["-fsyntax-only", *defines, source], capture_output=True, text=True, timeout=300)
    return run.returncode, run.stdout + run.stderr


status, output = compile()
if status != 0:
    sys.exit(f"the allowed twin of {source} does not compile:\n{output}")
status, output = compile("-DNNFUSE_MISUSE")
if status == 0:
    sys.exit(f"{source} compiled with NNFUSE_MISUSE; expected an error containing: {expected}")
if expected not in output:
    sys.exit(f"{source} failed to compile, but without the message: {expected}\ncompiler said:\n{output}")
print(f"refused with: {expected}")
