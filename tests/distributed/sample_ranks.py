#!/usr/bin/env python3
"""Checks a training sample's --distributed flag (issue 21) against one process of the same sample.

usage: sample_ranks.py CHECK PROGRAM [ARGS...]
  same-bits   PROGRAM on 2 and 3 ranks saves a checkpoint byte-identical to one process's (no --distributed) and
              prints the same "Test accuracy" line; only rank 0 prints (one summary, one result). ARGS, when given,
              replace the default size of the run (--limit 2000 --batch-size 256 --threads 1).
  resume      2 epochs on 2 ranks, then --resume to 3 epochs on 3 ranks and on one process: both checkpoints are
              byte-identical to 3 epochs straight on one process, with the same "Test accuracy" line.
  kill        3 ranks train with --save; rank 1 is killed (SIGKILL) after the first checkpoint: mpirun must end
              within 30 s, nonzero, rank 0 saying it was stopped and naming the checkpoint; the checkpoint must load
              (--resume) and be byte-identical to one process's after as many epochs.
  bad-launch  more ranks than a batch has chunks, ranks started with another --seed or another model (--bn-profile
              torch), a flag one rank cannot parse: each exits nonzero with exactly one "error:" line naming the
              values (the last one the rank too).
  per-rank    --bn-statistics per-rank (each rank normalizes its share with its own statistics): in one process and
              on one rank it saves the default's checkpoint bytes; on 2 and 3 ranks it trains (a "Test accuracy"
              line) to a checkpoint unlike the synchronized one and unlike the other rank count's; 1 epoch on 2 ranks
              resumed to 2 equals 2 epochs straight on 2 ranks; ranks that disagree on it, and a batch that would
              leave a rank one row, are one error line each.
mpirun runs with --oversubscribe (more ranks than cores) and, as root, --allow-run-as-root.
"""
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time

check, program = sys.argv[1], sys.argv[2]
launcher = ["mpirun", "--oversubscribe", "--bind-to", "none"]
if os.geteuid() == 0:
    launcher.append("--allow-run-as-root")
env = dict(os.environ, OMPI_MCA_btl_vader_single_copy_mechanism="none", OMPI_MCA_rmaps_base_oversubscribe="1")
# 2000 rows in batches of 256: 8 steps an epoch of 4 chunks (64 rows) each, the last of 208 rows.
common = sys.argv[3:] or ["--limit", "2000", "--batch-size", "256", "--threads", "1"]


def run(command, expect=0):
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    if (expect == 0) != (done.returncode == 0):
        sys.exit(f"{' '.join(command)}\nexited with {done.returncode}, expected "
                 f"{'0' if expect == 0 else 'nonzero'}:\n{done.stdout}\n{done.stderr}")
    return done


def ranks(count, *args, expect=0):
    return run(launcher + ["-np", str(count), program, "--distributed", *args], expect)


def accuracy(done):
    lines = [l for l in done.stdout.splitlines() if l.startswith("Test accuracy")]
    if len(lines) != 1:
        sys.exit(f"expected one 'Test accuracy' line (rank 0 alone prints), got {len(lines)}:\n{done.stdout}")
    return lines[0]


def same_file(a, b, what):
    if open(a, "rb").read() != open(b, "rb").read():
        sys.exit(f"{what}: the checkpoints differ")


def epochs_done(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        return int(json.loads(f.read(length))["__metadata__"]["epochs_done"])


def one_error(done, *needles):
    errors = [l for l in done.stderr.splitlines() if l.startswith("error:")]
    if len(errors) != 1 or not all(n in errors[0] for n in needles):
        sys.exit(f"expected one error line naming {needles}, got:\n{done.stderr}")
    return errors[0]


with tempfile.TemporaryDirectory() as tmp:
    path = lambda name: os.path.join(tmp, name)
    if check == "same-bits":
        one = run([program, *common, "--epochs", "2", "--save", path("1.st")])
        for r in (2, 3):
            done = ranks(r, *common, "--epochs", "2", "--save", path(f"{r}.st"))
            same_file(path("1.st"), path(f"{r}.st"), f"{r} ranks against one process")
            if accuracy(done) != accuracy(one):
                sys.exit(f"{r} ranks: {accuracy(done)!r}, one process: {accuracy(one)!r}")
            if done.stdout.count("Epoch 1/2") != 1:
                sys.exit(f"{r} ranks: the progress should be printed once (rank 0):\n{done.stdout}")
        print(f"1, 2 and 3 ranks: identical checkpoints ({os.path.getsize(path('1.st'))} bytes), {accuracy(one)}")
    elif check == "resume":
        straight = run([program, *common, "--epochs", "3", "--save", path("straight.st")])
        ranks(2, *common, "--epochs", "2", "--save", path("two.st"))
        for name, command in [("3 ranks", launcher + ["-np", "3", program, "--distributed"]), ("one process", [program])]:
            out = path(name.replace(" ", "_") + ".st")
            done = run(command + [*common, "--epochs", "3", "--resume", path("two.st"), "--save", out])
            if "Resuming from" not in done.stdout or "Epoch 1/3" in done.stdout:
                sys.exit(f"{name} did not continue with epoch 3 alone:\n{done.stdout}")
            same_file(path("straight.st"), out, f"2 ranks resumed on {name} against 3 epochs straight")
            if accuracy(done) != accuracy(straight):
                sys.exit(f"{name}: {accuracy(done)!r}, straight: {accuracy(straight)!r}")
        print(f"2 ranks + resume on 3 ranks and on one process = 3 epochs straight, {accuracy(straight)}")
    elif check == "kill":
        saved = path("killed.st")
        job = subprocess.Popen(launcher + ["-np", "3", program, "--distributed", *common, "--epochs", "100000",
                                           "--save", saved], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
        deadline = time.time() + 120
        while not os.path.exists(saved) and job.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # into a later epoch
        victim = None
        for pid in subprocess.run(["pgrep", "-P", str(job.pid)], capture_output=True, text=True).stdout.split():
            try:
                environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
            except OSError:
                continue
            if b"OMPI_COMM_WORLD_RANK=1" in environ:
                victim = int(pid)
        if job.poll() is not None or victim is None:
            job.kill()
            sys.exit(f"the job ended before the kill, or no rank 1 was found:\n{job.communicate()[1]}")
        os.kill(victim, signal.SIGKILL)
        killed = time.time()
        try:
            out, err = job.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            job.kill()
            sys.exit("the other ranks did not end within 30 s of rank 1's death")
        took = time.time() - killed
        if job.returncode == 0:
            sys.exit(f"mpirun exited 0 after a rank was killed:\n{err}")
        if f"stopped by mpirun" not in err or saved not in err or "rank 1" not in err:
            sys.exit(f"expected rank 0's message naming the checkpoint and mpirun's naming rank 1, got:\n{err}")
        epochs = epochs_done(saved)
        resumed = run([program, *common, "--epochs", str(epochs + 1), "--resume", saved])
        run([program, *common, "--epochs", str(epochs), "--save", path("uninterrupted.st")])
        same_file(saved, path("uninterrupted.st"), f"the checkpoint left by the killed run after {epochs} epochs")
        print(f"all ranks ended {took:.1f} s after rank 1's death (exit {job.returncode}); the checkpoint of "
              f"{epochs} epochs is intact and resumes ({accuracy(resumed)})")
    elif check == "bad-launch":
        few = ranks(2, "--limit", "2000", "--batch-size", "64", "--epochs", "1", expect=1)
        print(one_error(few, "2 ranks", "batch of 64 rows has 1 chunk", "--batch-size 65"))
        short = ["--epochs", "1", *common]
        mixed = run(launcher + ["-np", "1", program, "--distributed", *short, ":",
                                "-np", "1", program, "--distributed", *short, "--seed", "7"], expect=1)
        print(one_error(mixed, "rank 1 has --seed 7, rank 0 has --seed 42"))
        models = run(launcher + ["-np", "1", program, "--distributed", *short, ":",
                                 "-np", "1", program, "--distributed", *short, "--bn-profile", "torch"], expect=1)
        print(one_error(models, "rank 1 has model fashion_mnist_torch", "rank 0 has model fashion_mnist "))
        # A command line one rank cannot parse: that rank's one line names it (MPI has not started yet).
        flag = run(launcher + ["-np", "1", program, "--distributed", *short, ":",
                               "-np", "1", program, "--distributed", *short, "--epochs", "zero"], expect=1)
        print(one_error(flag, "rank 1: ", "--epochs", "zero"))
    elif check == "per-rank":
        per_rank = ["--bn-statistics", "per-rank"]
        default = run([program, *common, "--epochs", "2", "--save", path("default.st")])
        run([program, *common, *per_rank, "--epochs", "2", "--save", path("alone.st")])
        same_file(path("default.st"), path("alone.st"), "one process with --bn-statistics per-rank against without")
        ranks(1, *common, *per_rank, "--epochs", "2", "--save", path("1.st"))
        same_file(path("default.st"), path("1.st"), "1 rank with --bn-statistics per-rank against one process")
        results = {}
        for r in (2, 3):
            done = ranks(r, *common, *per_rank, "--epochs", "2", "--save", path(f"{r}.st"))
            results[r] = accuracy(done)
            if open(path(f"{r}.st"), "rb").read() == open(path("default.st"), "rb").read():
                sys.exit(f"{r} ranks with --bn-statistics per-rank saved the synchronized bits")
        if open(path("2.st"), "rb").read() == open(path("3.st"), "rb").read():
            sys.exit("--bn-statistics per-rank saved the same bits on 2 and 3 ranks")
        ranks(2, *common, *per_rank, "--epochs", "1", "--save", path("first.st"))
        ranks(2, *common, *per_rank, "--epochs", "2", "--resume", path("first.st"), "--save", path("resumed.st"))
        same_file(path("2.st"), path("resumed.st"), "per-rank on 2 ranks, 1 epoch resumed to 2, against 2 straight")
        short = ["--epochs", "1", *common]
        mixed = run(launcher + ["-np", "1", program, "--distributed", *short, ":",
                                "-np", "1", program, "--distributed", *short, *per_rank], expect=1)
        print(one_error(mixed, "rank 1 has --bn-statistics per-rank, rank 0 has --bn-statistics synchronized"))
        lone = ranks(2, *per_rank, "--limit", "2000", "--batch-size", "65", "--epochs", "1", "--threads", "1",
                     expect=1)
        print(one_error(lone, "--bn-statistics per-rank: rank 1's share of a batch of 65 rows is one row"))
        print(f"per-rank: one process and 1 rank = default bits ({accuracy(default)}); 2 ranks {results[2]}, "
              f"3 ranks {results[3]}, both unlike synchronized; resumes bit-exact on 2 ranks")
    else:
        sys.exit(f"unknown check {check}")
