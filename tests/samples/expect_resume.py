#!/usr/bin/env python3
"""Checks exact resume through a sample's --save / --resume, and that another model refuses the file.

usage: expect_resume.py PROGRAM OTHER_PROGRAM [ARGS...]
Runs PROGRAM ARGS for 3 epochs saving straight.safetensors after each epoch; for 2 epochs saving
resumed.safetensors, then again with --epochs 3 --resume resumed.safetensors --save resumed.safetensors.
Passes when the two final checkpoints are byte-identical (weights, optimizer state, BN counters, epoch,
seed), both runs end with the same "Test accuracy" line, and OTHER_PROGRAM (another model) refuses to
resume from the file with exit status 2 and a one-line error naming the architecture.
"""
import os
import subprocess
import sys
import tempfile

program, other, args = sys.argv[1], sys.argv[2], sys.argv[3:]


def run(command, expect=0):
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != expect:
        sys.exit(f"{' '.join(command)}\nexited with {done.returncode}, expected {expect}:\n{done.stdout}\n{done.stderr}")
    return done


with tempfile.TemporaryDirectory() as tmp:
    straight, resumed = os.path.join(tmp, "straight.safetensors"), os.path.join(tmp, "resumed.safetensors")
    a = run([program, *args, "--epochs", "3", "--save", straight])
    run([program, *args, "--epochs", "2", "--save", resumed])
    b = run([program, *args, "--epochs", "3", "--resume", resumed, "--save", resumed])
    if "Resuming from" not in b.stdout or "Epoch 3/3" not in b.stdout or "Epoch 1/3" in b.stdout:
        sys.exit(f"the resumed run did not continue with epoch 3 alone:\n{b.stdout}")
    if a.stdout.splitlines()[-1] != b.stdout.splitlines()[-1]:
        sys.exit(f"test accuracy differs: {a.stdout.splitlines()[-1]!r} vs {b.stdout.splitlines()[-1]!r}")
    if open(straight, "rb").read() != open(resumed, "rb").read():
        sys.exit("the checkpoints of 3 epochs straight and of 2 + resume + 1 differ")
    refused = run([other, *args, "--epochs", "3", "--resume", resumed], expect=2)
    errors = refused.stderr.splitlines()
    if len(errors) != 1 or "another architecture" not in errors[0]:
        sys.exit(f"expected one line naming the architecture, got:\n{refused.stderr}")
    print(f"identical checkpoints ({os.path.getsize(straight)} bytes), {a.stdout.splitlines()[-1]}; other model: {errors[0]}")
