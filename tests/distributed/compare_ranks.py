#!/usr/bin/env python3
"""Trains the reference model on 1, 2 and 3 MPI ranks and 1 and 2 threads, and passes when every run ends with the
same bits (the digest of its variables and optimizer slots, its step count and its losses) as one process, and
when the control (2 ranks that split the chunks but exchange nothing: --no-exchange) fails.

usage: compare_ranks.py PROGRAM [ARGS...]   (ARGS go to every run, e.g. --floats)
mpirun runs with --oversubscribe (more ranks than cores) and, as root, --allow-run-as-root.
"""
import os
import subprocess
import sys

program, args = sys.argv[1], sys.argv[2:]
launcher = ["mpirun", "--oversubscribe", "--bind-to", "none"]
if os.geteuid() == 0:
    launcher.append("--allow-run-as-root")
env = dict(os.environ, OMPI_MCA_btl_vader_single_copy_mechanism="none", OMPI_MCA_rmaps_base_oversubscribe="1")


def run(ranks, threads, extra=()):
    command = launcher + ["-np", str(ranks), program, "--threads", str(threads)] + args + list(extra)
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    if extra:
        return result
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} exited with {result.returncode}:\n{result.stdout}\n{result.stderr}")
    lines = result.stdout.splitlines()
    print(lines[0] if lines else "(no output)")
    return [l for l in lines if not l.startswith("ranks ")]


reference = run(1, 1)
print("\n".join(reference))
failures = []
for ranks, threads in [(1, 2), (2, 1), (3, 1), (2, 2)]:
    result = run(ranks, threads)
    if result != reference:
        failures.append(f"{ranks} ranks x {threads} threads:\n" + "\n".join(result))
control = run(2, 1, ["--no-exchange"])
if control.returncode != 1 or "ends with digest" not in control.stderr:
    failures.append(f"the control (no exchange) should end with different bits on each rank, exit 1:\n"
                    f"exit {control.returncode}\n{control.stdout}\n{control.stderr}")
if failures:
    sys.exit("different from one process:\n" + "\n\n".join(failures))
print("same bits on 1, 2 and 3 ranks and 1 and 2 threads")
