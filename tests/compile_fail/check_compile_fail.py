#!/usr/bin/env python3
"""A compile-fail case: a source that must not compile with -DNNFUSE_MISUSE, must compile without.

usage: check_compile_fail.py SOURCE -- COMPILER [FLAGS...]
SOURCE names the message the compiler must print in a line `// expect: <text>`, and may name more
texts in further `// expect:` lines (e.g. the refused argument as the compiler spells it in its
"required from" lines). The case passes when the misuse fails to compile and the compiler's output
contains every expected text, and the allowed twin (the same file without NNFUSE_MISUSE) compiles
cleanly.
"""
import re
import subprocess
import sys

source = sys.argv[1]
compiler = sys.argv[sys.argv.index("--") + 1:]
expected = [text.strip() for text in re.findall(r"^// expect: (.+)$", open(source, encoding="utf-8").read(),
                                                  re.MULTILINE)]
if not expected:
    sys.exit(f"{source}: no '// expect: <message>' line")


def compile(*defines):
    run = subprocess.run(compiler + ["-fsyntax-only", *defines, source], capture_output=True, text=True, timeout=300)
    return run.returncode, run.stdout + run.stderr


status, output = compile()
if status != 0:
    sys.exit(f"the allowed twin of {source} does not compile:\n{output}")
status, output = compile("-DNNFUSE_MISUSE")
if status == 0:
    sys.exit(f"{source} compiled with NNFUSE_MISUSE; expected an error containing: {expected[0]}")
missing = [text for text in expected if text not in output]
if missing:
    sys.exit(f"{source} failed to compile, but without: {' / '.join(missing)}\ncompiler said:\n{output}")
print("refused with: " + " / ".join(expected))
