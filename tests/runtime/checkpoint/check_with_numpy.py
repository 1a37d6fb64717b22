#!/usr/bin/env python3
"""Reads an nnfuse checkpoint with numpy alone and compares it with what nnfuse printed.

usage: check_with_numpy.py WRITE_FOR_PYTHON_PROGRAM
Runs the program (which trains briefly, saves FILE and prints every tensor it holds), parses the
safetensors file here from its bytes (no safetensors package: the header is read by hand), checks the
layout (8-byte little-endian length, JSON starting with '{' padded with spaces to a multiple of 8, no
duplicate keys, contiguous offsets from 0, no trailing bytes, string metadata) and that every tensor's
values are bit for bit the printed ones. Exit 77 (meson: skipped) when numpy is missing.
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("SKIP: numpy is not installed (Debian: python3-numpy)")
    sys.exit(77)

DTYPES = {"F32": "<f4", "I64": "<i8"}


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        sys.exit(f"duplicate keys in the header: {keys}")
    return dict(pairs)


def main():
    program = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.safetensors")
        run = subprocess.run([program, path], capture_output=True, text=True, timeout=300)
        if run.returncode != 0:
            sys.exit(f"{program} exited with {run.returncode}: {run.stderr}")
        blob = open(path, "rb").read()

    printed = {}
    for line in run.stdout.splitlines():
        name, dtype, dims, values = line.split("|")
        shape = tuple(int(d) for d in dims.split(",")) if dims else ()
        if dtype == "F32":
            array = np.array([float.fromhex(v) for v in values.split()], dtype=np.float32)
        else:
            array = np.array([int(values)], dtype=np.int64)
        printed[name] = (dtype, array.reshape(shape))

    n = int.from_bytes(blob[:8], "little")
    header_bytes = blob[8:8 + n]
    assert header_bytes[:1] == b"{", "header must start with '{'"
    assert n % 8 == 0, f"header length {n} is not a multiple of 8"
    text = header_bytes.decode("utf-8")
    assert text == text.rstrip(" ") + " " * (len(text) - len(text.rstrip(" "))), "padding must be spaces"
    header = json.loads(text, object_pairs_hook=no_duplicates)
    metadata = header.pop("__metadata__")
    assert all(isinstance(v, str) for v in metadata.values()), "metadata values must be strings"
    assert metadata["model"] == "fashion_mnist" and metadata["content"] == "training", metadata
    assert metadata["nnfuse_version"], "no nnfuse_version"

    data = blob[8 + n:]
    end = 0
    for name, info in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        begin, stop = info["data_offsets"]
        assert begin == end, f"{name}: begins at {begin}, previous tensor ended at {end}"
        end = stop
    assert end == len(data), f"tensors end at {end}, data holds {len(data)} bytes"

    assert set(header) == set(printed), f"names differ: {sorted(set(header) ^ set(printed))}"
    compared = 0
    for name, info in header.items():
        dtype, expected = printed[name]
        assert info["dtype"] == dtype, f"{name}: dtype {info['dtype']}, printed {dtype}"
        begin, stop = info["data_offsets"]
        array = np.frombuffer(data[begin:stop], dtype=DTYPES[dtype]).reshape(info["shape"])
        assert array.shape == expected.shape, f"{name}: shape {array.shape}, printed {expected.shape}"
        if array.tobytes() != np.ascontiguousarray(expected, dtype=array.dtype).tobytes():
            sys.exit(f"{name}: values differ from what nnfuse printed")
        compared += array.size
    print(f"numpy {np.__version__}: {len(header)} tensors, {compared} values identical to nnfuse's")


main()
