#!/usr/bin/env python3
"""Runs a training sample briefly and checks what a user relies on in its output.

usage: expect_training.py MIN_ACCURACY PROGRAM [ARGS...]
Passes when the program exits 0, prints one Keras progress line per epoch ("N/N [===...] - ..."),
the loss of the last epoch is below the first batch's untrained loss (ln 10 for 10 classes), and its
last line is "Test accuracy: 0.xxxx" with a value of at least MIN_ACCURACY, and the file named by the
environment variable EXPECT_FILE, if set, exists and is not empty.
"""
import math
import os
import re
import subprocess
import sys

floor, command = float(sys.argv[1]), sys.argv[2:]
run = subprocess.run(command, capture_output=True, text=True, timeout=900)
if run.returncode != 0:
    sys.exit(f"{command[0]} exited with {run.returncode}:\n{run.stdout}\n{run.stderr}")
lines = run.stdout.splitlines()
progress = [l for l in lines if re.match(r"^\s*(\d+)/\1 \[=+\] - ", l)]
epochs = [l for l in lines if re.match(r"^Epoch \d+/\d+$", l)]
if not epochs or len(progress) != len(epochs):
    sys.exit(f"expected one finished progress line per epoch:\n{run.stdout}")
loss = float(re.search(r"- loss: ([0-9.e+-]+)", progress[-1]).group(1))
if not loss < math.log(10):
    sys.exit(f"the training loss {loss} did not fall below an untrained model's ln(10)")
match = re.fullmatch(r"Test accuracy: (0\.\d{4})", lines[-1])
if not match:
    sys.exit(f"last line is not 'Test accuracy: 0.xxxx': {lines[-1]!r}")
accuracy = float(match.group(1))
if accuracy < floor:
    sys.exit(f"test accuracy {accuracy} is below the floor {floor}")
expected_file = os.environ.get("EXPECT_FILE")
if expected_file and not (os.path.isfile(expected_file) and os.path.getsize(expected_file) > 0):
    sys.exit(f"{expected_file} was not written")
print(f"loss {loss}, test accuracy {accuracy} (floor {floor})")
