#!/usr/bin/python3
# bench/compare/tabular_table.py: the README's table of the tabular samples, nnfuse beside PyTorch.
#
# For each data set (breast_cancer, wine, diabetes) and each seed, runs the nnfuse sample
# (<build>/samples/tabular/<name> --seed S --no-validation --history F) and reads its test metrics from the lines
# "Test <metric>: x" and its time per epoch from the history's seconds column (training only: --no-validation);
# trains the same model in PyTorch with tabular_torch.py (same split, standardization, initializers, Keras's Adam
# and BN rules, batches, epochs; one thread). Prints one markdown table: each test metric as mean ± sample standard
# deviation over the seeds for both, and the milliseconds per epoch of both with their ratio.
#
# Run: bench/compare/tabular_table.py [--build build] [--seeds 42..61] [--dataset all]
# Needs: the nnfuse build (ninja -C build), python3-torch and python3-sklearn; Debian's /usr/bin/python3.
import argparse
import csv
import os
import re
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tabular_torch  # noqa: E402  (the PyTorch side, and the protocol both follow)

# Each data set's metrics as the sample prints them and as tabular_torch names them, with their digits.
METRICS = {"breast_cancer": [("binary_accuracy", "binary_accuracy", 4), ("loss", "loss", 4)],
           "wine": [("accuracy", "accuracy", 4), ("loss", "loss", 4)],
           "diabetes": [("R^2", "r2", 4), ("mae", "mae", 2), ("rmse", "rmse", 2)]}


def run_nnfuse(program, seed):
    with tempfile.TemporaryDirectory() as directory:
        history = os.path.join(directory, "history.csv")
        result = subprocess.run([program, "--seed", str(seed), "--no-validation", "--history", history],
                                capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            sys.exit(f"{program} --seed {seed} exited with {result.returncode}:\n{result.stderr}")
        with open(history) as file:
            seconds = [float(row["seconds"]) for row in csv.DictReader(file)]
    metrics = {m: float(v) for m, v in re.findall(r"^Test (\S+): (-?[0-9.]+)$", result.stdout, re.M)}
    metrics["seconds_per_epoch"] = statistics.fmean(seconds)
    return metrics


def spread(values, digits):
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.{digits}f} ± {std:.{digits}f}"


def main(argv):
    parser = argparse.ArgumentParser(description="nnfuse's tabular samples beside PyTorch")
    parser.add_argument("--build", default="build", help="the nnfuse build directory")
    parser.add_argument("--seeds", default=",".join(str(s) for s in range(42, 62)))
    parser.add_argument("--dataset", choices=tabular_torch.DATASETS + ("all",), default="all")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    names = tabular_torch.DATASETS if args.dataset == "all" else (args.dataset,)
    torch_args = tabular_torch.parse_args(["--seeds", args.seeds])
    tabular_torch.torch.set_num_threads(1)
    rows = ["| data set | test metric | nnfuse | PyTorch | ms / epoch, nnfuse | PyTorch | nnfuse faster |",
            "|---|---|---|---|---|---|---|"]
    for name in names:
        program = os.path.join(args.build, "samples", "tabular", name)
        ours = [run_nnfuse(program, seed) for seed in seeds]
        theirs = list(tabular_torch.run_dataset(name, torch_args)["seeds"].values())
        ours_ms = 1000 * statistics.fmean(r["seconds_per_epoch"] for r in ours)
        theirs_ms = 1000 * statistics.fmean(r["seconds_per_epoch"] for r in theirs)
        for i, (printed, torch_name, digits) in enumerate(METRICS[name]):
            timing = (f"{ours_ms:.3f} | {theirs_ms:.2f} | {theirs_ms / ours_ms:.0f}x" if i == 0 else " | | ")
            rows.append(f"| {name if i == 0 else ''} | {printed} | {spread([r[printed] for r in ours], digits)} "
                        f"| {spread([r[torch_name] for r in theirs], digits)} | {timing} |")
    print(f"Seeds {seeds[0]}..{seeds[-1]} ({len(seeds)}), one thread; PyTorch {tabular_torch.torch.__version__}")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
