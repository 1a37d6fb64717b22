#!/usr/bin/env python3
"""Runs a program that should refuse its command line and checks how it says so.

usage: expect_usage_error.py TEXT PROGRAM [ARGS...]
Passes when the program exits with status 2, prints exactly one line on stderr, that line contains
TEXT, and it printed nothing on stdout (no training started).
"""
import subprocess
import sys

text, command = sys.argv[1], sys.argv[2:]
run = subprocess.run(command, capture_output=True, text=True, timeout=120)
errors = run.stderr.splitlines()
if run.returncode != 2:
    sys.exit(f"exit status {run.returncode}, expected 2\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}")
if len(errors) != 1:
    sys.exit(f"expected one line on stderr, got {len(errors)}:\n{run.stderr}")
if text not in errors[0]:
    sys.exit(f"stderr does not mention {text!r}: {errors[0]!r}")
if run.stdout.strip():
    sys.exit(f"expected no output on stdout, got:\n{run.stdout}")
print(errors[0])
