#!/usr/bin/env python3
"""Runs a program built from a README snippet and checks that it did what the README says.

usage: run_snippet.py PATTERN PROGRAM [ARGS...]
Passes when PROGRAM exits 0 and its standard output contains a line matching the regular expression PATTERN.
"""
import re
import subprocess
import sys

pattern, command = sys.argv[1], sys.argv[2:]
run = subprocess.run(command, capture_output=True, text=True, timeout=300)
if run.returncode != 0:
    sys.exit(f"{command[0]} exited with {run.returncode}:\n{run.stdout}\n{run.stderr}")
if not re.search(pattern, run.stdout, re.MULTILINE):
    sys.exit(f"no line of the output matches {pattern!r}:\n{run.stdout}")
print(f"found {pattern!r}")
