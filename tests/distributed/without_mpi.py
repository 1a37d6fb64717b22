#!/usr/bin/env python3
"""Checks what --distributed does in a sample built without MPI (samples/common/distributed_unavailable.cpp):
exactly one line on stderr, `error: --distributed: this nnfuse was built without MPI: ...` naming the packages and
the reconfigure step, nothing on stdout (no training starts), and exit status 2.

usage: without_mpi.py PROGRAM   (a training sample linked against samples/common without MPI)
"""
import subprocess
import sys

program = sys.argv[1]
done = subprocess.run([program, "--distributed", "--epochs", "1"], capture_output=True, text=True, timeout=60)
lines = done.stderr.splitlines()
expected = "error: --distributed: this nnfuse was built without MPI: "
problems = []
if done.returncode != 2:
    problems.append(f"exit status {done.returncode}, expected 2")
if len(lines) != 1 or not lines[0].startswith(expected):
    problems.append(f"expected one line starting {expected!r}")
elif "openmpi-bin" not in lines[0] or "libopenmpi-dev" not in lines[0] or "--reconfigure" not in lines[0]:
    problems.append("the line should name openmpi-bin, libopenmpi-dev and meson setup --reconfigure")
if done.stdout:
    problems.append("nothing should be printed on stdout (no training)")
if problems:
    sys.exit("; ".join(problems) + f"\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}")
print(lines[0])
