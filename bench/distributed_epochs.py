#!/usr/bin/env python3
"""Epoch times of a training sample over MPI ranks x threads (issue 21), run by hand:

    bench/distributed_epochs.py [--sample build/samples/fashion_mnist/fashion_mnist] [--epochs 4]
                                [--batches 256,1024] [--layouts 1x1,1x2,2x1,2x2,3x1] [--repeat 3]

Each layout RxT runs `mpirun -np R SAMPLE --distributed --threads T --batch-size B --epochs E` on the whole training
set (1x1 and 1x2 run the sample without mpirun) and reports the epoch time as rank 0's progress line gives it (steps x
time per step, rounded by the progress to 3 digits below 1 ms and to whole milliseconds above), the median over
epochs 2..E of --repeat runs, so that start-up (loading the data, starting MPI, whose time varies by seconds on a
loaded machine) and the final evaluation stay out; and its speed-up over one process of one thread. Prints the CPU, the core
count and the load average before each run: on a shared machine, times are comparable only within one run.
"""
import argparse
import os
import re
import statistics
import subprocess

parser = argparse.ArgumentParser()
parser.add_argument("--sample", default="build/samples/fashion_mnist/fashion_mnist")
parser.add_argument("--epochs", type=int, default=6)
parser.add_argument("--repeat", type=int, default=3)
parser.add_argument("--batches", default="256,1024")
parser.add_argument("--layouts", default="1x1,1x2,2x1,2x2,3x1")
options = parser.parse_args()

launcher = ["mpirun", "--oversubscribe", "--bind-to", "none"]
if os.geteuid() == 0:
    launcher.append("--allow-run-as-root")
env = dict(os.environ, OMPI_MCA_btl_vader_single_copy_mechanism="none")


def cpu():
    fields = {}
    for line in open("/proc/cpuinfo"):
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return f"{fields.get('model name', 'unknown CPU')} (family {fields.get('cpu family', '?')})"


# The end of an epoch's progress: "235/235 [=====] - 1s 4ms/step - loss: ...".
epoch_end = re.compile(r"(\d+)/\1 \[=+\] - \d+s (\d+)(us|ms|s)/step")


def run_epochs(ranks, threads, batch):
    command = [options.sample, "--threads", str(threads), "--batch-size", str(batch), "--epochs", str(options.epochs)]
    if ranks > 1:
        command = launcher + ["-np", str(ranks)] + command + ["--distributed"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {done.returncode}:\n{done.stderr}")
    times = [int(steps) * int(per_step) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]
             for steps, per_step, unit in epoch_end.findall(done.stdout)]
    if len(times) != options.epochs:
        raise SystemExit(f"expected {options.epochs} epochs in the output of {' '.join(command)}:\n{done.stdout}")
    return times[1:] if len(times) > 1 else times


def epoch_seconds(ranks, threads, batch):
    return statistics.median(t for _ in range(options.repeat) for t in run_epochs(ranks, threads, batch))


print(f"{cpu()}, {os.cpu_count()} cores; sample {options.sample}, epochs 2..{options.epochs}")
print("| batch | ranks x threads | epoch (s) | speed-up over 1x1 | load before |")
print("|---|---|---|---|---|")
for batch in map(int, options.batches.split(",")):
    base = None
    for layout in options.layouts.split(","):
        ranks, threads = map(int, layout.split("x"))
        load = open("/proc/loadavg").read().split()[0]
        seconds = epoch_seconds(ranks, threads, batch)
        base = base or seconds
        print(f"| {batch} | {ranks} x {threads} | {seconds:.3f} | {base / seconds:.2f} | {load} |", flush=True)
