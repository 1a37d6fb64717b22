#!/usr/bin/env python3
"""Runs a tabular sample (samples/tabular) on scikit-learn's data, then on broken copies of its files.

usage: expect_tabular.py PROGRAM DATASET METRIC MIN [ARGS...]
  Passes when PROGRAM (breast_cancer, wine or diabetes, named by DATASET) exits 0 after one finished Keras
  progress line per epoch, and its output has "Test METRIC: x" with x >= MIN (for "loss", "mae" and "rmse": x <=
  MIN). Files named in the environment variable EXPECT_FILES (comma-separated) must then exist and not be empty,
  and the output must hold each line of the environment variable EXPECT_OUTPUT (a regular expression per line).
usage: expect_tabular.py --bad-input PROGRAM DATASET
  Copies the data files to a temporary directory, breaks them one way at a time (a ragged row, a cell that is
  not a number, a NaN cell, an empty file, a missing file, a truncated gzip file, target and feature files of
  different lengths, no data directory at all) and passes when each run exits 2 with one line on stderr naming
  the file and, where there is one, the line, and starts no training.
The data directory is Debian's python3-sklearn's (the environment variable SKLEARN_DATA overrides it).
"""
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

DATA = os.environ.get("SKLEARN_DATA", "/usr/lib/python3/dist-packages/sklearn/datasets/data")
FILES = {"breast_cancer": ["breast_cancer.csv"], "wine": ["wine_data.csv"],
         "diabetes": ["diabetes_data_raw.csv.gz", "diabetes_target.csv.gz"]}


def run(command):
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def check_training(program, dataset, metric, bound, args):
    result = run([program, "--data", DATA] + args)
    if result.returncode != 0:
        sys.exit(f"{program} exited with {result.returncode}:\n{result.stdout}\n{result.stderr}")
    lines = result.stdout.splitlines()
    progress = [l for l in lines if re.match(r"^\s*(\d+)/\1 \[=+\] - ", l)]
    epochs = [l for l in lines if re.match(r"^Epoch \d+/\d+$", l)]
    if not epochs or len(progress) != len(epochs):
        sys.exit(f"expected one finished progress line per epoch:\n{result.stdout}")
    match = re.search(rf"^Test {re.escape(metric)}: (-?[0-9.]+)$", result.stdout, re.M)
    if not match:
        sys.exit(f"no 'Test {metric}: x' line:\n{result.stdout}")
    value = float(match.group(1))
    lower_is_better = metric in ("loss", "mae", "rmse")
    if (value > bound) if lower_is_better else (value < bound):
        sys.exit(f"Test {metric} {value} is {'above' if lower_is_better else 'below'} {bound}:\n{result.stdout}")
    for pattern in filter(None, os.environ.get("EXPECT_OUTPUT", "").split("\n")):
        if not re.search(pattern, result.stdout, re.M):
            sys.exit(f"the output has no line matching {pattern!r}:\n{result.stdout}")
    for path in filter(None, os.environ.get("EXPECT_FILES", "").split(",")):
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            sys.exit(f"{path} was not written")
    print(f"{dataset}: Test {metric} {value}")


def read(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return f.read().splitlines()


def write(path, lines):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wt") as f:
        f.write("\n".join(lines) + "\n")


def separator(name):
    return " " if name.startswith("diabetes_data") else ","


def break_cell(lines, name, index, column, text):
    fields = lines[index].split(separator(name))
    fields[column] = text
    lines[index] = separator(name).join(fields)
    return lines


def cases(dataset):
    """(description, file, edit of its lines or None to remove it or "truncate", expected texts in the error)."""
    first = FILES[dataset][0]
    skip = 0 if dataset == "diabetes" else 1  # the line before the data in scikit-learn's own CSV files
    out = [
        ("a ragged row", first, lambda l: l[:4 + skip] + [separator(first).join(l[4 + skip].split(separator(first))[:-2])] + l[5 + skip:],
         [first, f"line {5 + skip}"]),
        ("a cell that is not a number", first, lambda l: break_cell(l, first, 6 + skip, 2, "12.5abc"),
         [first, f"line {7 + skip}", "12.5abc"]),
        ("a NaN cell", first, lambda l: break_cell(l, first, 8 + skip, 0, "nan"), [first, f"line {9 + skip}", "nan"]),
        ("an empty file", first, lambda l: [], [first]),
        ("a missing file", first, None, [first]),
    ]
    if first.endswith(".gz"):
        out.append(("a truncated gzip file", first, "truncate", [first]))
    if dataset == "diabetes":
        out.append(("fewer targets than rows", "diabetes_target.csv.gz", lambda l: l[:-3],
                    ["diabetes_target.csv.gz", "439 targets", "442 rows"]))
    return out


def check_bad_input(program, dataset):
    failures = []
    for description, name, edit, expected in cases(dataset):
        with tempfile.TemporaryDirectory() as directory:
            for f in FILES[dataset]:
                shutil.copy(os.path.join(DATA, f), directory)
            path = os.path.join(directory, name)
            if edit is None:
                os.remove(path)
            elif edit == "truncate":
                with open(path, "rb") as f:
                    data = f.read()
                with open(path, "wb") as f:
                    f.write(data[: len(data) // 2])
            else:
                write(path, edit(read(path)))
            failures += judge(program, description, ["--data", directory], expected)
    failures += judge(program, "no data directory", ["--data", "/nonexistent/sklearn-data"],
                      ["/nonexistent/sklearn-data", "python3-sklearn"])
    if failures:
        sys.exit("\n".join(failures))


def judge(program, description, args, expected):
    result = run([program] + args)
    errors = result.stderr.splitlines()
    problems = []
    if result.returncode != 2:
        problems.append(f"exit status {result.returncode}, expected 2")
    if len(errors) != 1:
        problems.append(f"{len(errors)} lines on stderr, expected 1")
    missing = [text for text in expected if text not in result.stderr]
    if missing:
        problems.append(f"the error does not name {missing}")
    if "Epoch 1/" in result.stdout:
        problems.append("training started")
    print(f"{description}: {result.stderr.strip()}")
    return [f"{description}: {'; '.join(problems)}\nstderr: {result.stderr}"] if problems else []


if __name__ == "__main__":
    if sys.argv[1] == "--bad-input":
        check_bad_input(sys.argv[2], sys.argv[3])
    else:
        check_training(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5:])
