#!/usr/bin/env python3
"""Runs a program and compares its standard output with a file, line by line.

usage: expect_output.py EXPECTED_FILE PROGRAM [ARGS...]
Exit 0 when the output is the same; otherwise prints the first differing line and exits 1.
"""
import subprocess
import sys

expected_path, command = sys.argv[1], sys.argv[2:]
expected = open(expected_path, encoding="utf-8").read().splitlines()
run = subprocess.run(command, capture_output=True, text=True, timeout=600)
if run.returncode != 0:
    sys.exit(f"{command[0]} exited with {run.returncode}:\n{run.stderr}")
actual = run.stdout.splitlines()
for number, (want, got) in enumerate(zip(expected, actual), start=1):
    if want != got:
        sys.exit(f"line {number} differs:\n  expected {want!r}\n  got      {got!r}")
if len(expected) != len(actual):
    sys.exit(f"expected {len(expected)} lines, got {len(actual)}")
print(f"{len(actual)} lines as expected")
