#!/usr/bin/env python3
"""Runs an experiment sample (vanishing_gradients, bn_placement) briefly and checks the files it writes.

usage: expect_experiment.py [--variants a,b] [--epochs N] [--layers L] [--plots p,q] [--last-line REGEX]
                            -- PROGRAM [ARGS...]
The program gets `--out DIR` (a fresh temporary directory) after ARGS. Passes when it exits 0 and
  - DIR/history.csv has the header variant,epoch,loss,accuracy,test_loss,test_accuracy,seconds and,
    for each variant in order, epochs 1..N with finite values (accuracies in [0, 1], seconds >= 0);
  - with --layers: DIR/gradients.csv has the header variant,epoch,layer,grad_norm and, per variant,
    epochs 0..N, each with layers 1..L, every norm finite and positive;
  - each plot DIR/<p>.svg is a non-empty SVG, with its gnuplot script DIR/<p>.gp beside it;
  - with --last-line: the last line of its output matches REGEX.
When gnuplot is not installed the program must say so; the CSV checks still run, then the test is
skipped (exit 77) because the plots cannot exist.
"""
import argparse
import csv
import math
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def fail(message):
    sys.exit(message)


def read_csv(path, header):
    if not path.is_file():
        fail(f"{path.name} was not written")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0] != header:
        fail(f"{path.name}: header {rows[0] if rows else None!r}, expected {header!r}")
    return rows[1:]


def finite(path, row, column, value):
    try:
        number = float(value)
    except ValueError:
        fail(f"{path.name}: {column} is not a number in {row!r}")
    if not math.isfinite(number):
        fail(f"{path.name}: {column} is not finite in {row!r}")
    return number


def check_history(path, variants, epochs):
    header = ["variant", "epoch", "loss", "accuracy", "test_loss", "test_accuracy", "seconds"]
    rows = read_csv(path, header)
    expected = [(v, str(e)) for v in variants for e in range(1, epochs + 1)]
    got = [(r[0], r[1]) for r in rows]
    if got != expected:
        fail(f"{path.name}: (variant, epoch) rows {got!r}, expected {expected!r}")
    for row in rows:
        if len(row) != len(header):
            fail(f"{path.name}: row {row!r} has {len(row)} fields")
        values = {c: finite(path, row, c, v) for c, v in zip(header[2:], row[2:])}
        for column in ("accuracy", "test_accuracy"):
            if not 0.0 <= values[column] <= 1.0:
                fail(f"{path.name}: {column} outside [0, 1] in {row!r}")
        if values["loss"] < 0 or values["test_loss"] < 0 or values["seconds"] < 0:
            fail(f"{path.name}: a negative loss or time in {row!r}")
    return len(rows)


def check_gradients(path, variants, epochs, layers):
    rows = read_csv(path, ["variant", "epoch", "layer", "grad_norm"])
    expected = [(v, str(e), str(l)) for v in variants for e in range(0, epochs + 1) for l in range(1, layers + 1)]
    got = [tuple(r[:3]) for r in rows]
    if got != expected:
        fail(f"{path.name}: (variant, epoch, layer) rows {got!r}, expected {expected!r}")
    for row in rows:
        if len(row) != 4:
            fail(f"{path.name}: row {row!r} has {len(row)} fields")
        if not finite(path, row, "grad_norm", row[3]) > 0:
            fail(f"{path.name}: a zero gradient norm in {row!r}")
    return len(rows)


def check_plot(directory, name):
    plot, script = directory / f"{name}.svg", directory / f"{name}.gp"
    if not plot.is_file() or plot.stat().st_size == 0:
        fail(f"{plot.name} is missing or empty")
    if "<svg" not in plot.read_text(encoding="utf-8", errors="replace")[:2000]:
        fail(f"{plot.name} is not an SVG image")
    if not script.is_file() or script.stat().st_size == 0:
        fail(f"{script.name} (the script that draws {plot.name}) is missing")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", default="")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--layers", type=int, default=0)
    parser.add_argument("--plots", default="")
    parser.add_argument("--last-line", default=None)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    variants = [v for v in args.variants.split(",") if v]

    with tempfile.TemporaryDirectory(prefix="nnfuse-experiment-") as temp:
        out = Path(temp) / "out"  # not there yet: the sample creates it
        run = subprocess.run(command + ["--out", str(out)], capture_output=True, text=True, timeout=900)
        if run.returncode != 0:
            fail(f"{command[0]} exited with {run.returncode}:\n{run.stdout}\n{run.stderr}")
        lines = run.stdout.splitlines()
        if args.last_line is not None and not (lines and re.fullmatch(args.last_line, lines[-1])):
            fail(f"last line {lines[-1] if lines else None!r} does not match {args.last_line!r}")
        history_rows = check_history(out / "history.csv", variants, args.epochs)
        gradient_rows = check_gradients(out / "gradients.csv", variants, args.epochs, args.layers) if args.layers else 0
        plots = [p for p in args.plots.split(",") if p]
        if shutil.which("gnuplot") is None:
            if plots and "gnuplot is not installed" not in run.stdout:
                fail("gnuplot is missing and the program did not say so")
            print("CSV files as expected; gnuplot is not installed, so the plots were not checked")
            sys.exit(77)
        for name in plots:
            check_plot(out, name)
        print(f"history.csv: {history_rows} rows, gradients.csv: {gradient_rows} rows, plots: {plots}")


main()
