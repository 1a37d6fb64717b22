#!/usr/bin/env python3
"""Runs a sample that must fail cleanly and checks how it fails.

usage: expect_failure.py STATUS TEXT PROGRAM [ARGS...]
Passes when the program ends (within 120 s: no hang) with exit status STATUS (not a signal, so no
crash), prints exactly one line on stderr, and that line starts with "error: " and contains TEXT.
"""
import subprocess
import sys

status, text, command = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
run = subprocess.run(command, capture_output=True, text=True, timeout=120)
errors = run.stderr.splitlines()
if run.returncode != status:
    sys.exit(f"exit status {run.returncode}, expected {status}\nstderr:\n{run.stderr}")
if len(errors) != 1:
    sys.exit(f"expected one line on stderr, got {len(errors)}:\n{run.stderr}")
if not errors[0].startswith("error: ") or text not in errors[0]:
    sys.exit(f"expected 'error: ...{text}...' on stderr, got {errors[0]!r}")
print(errors[0])
