#!/usr/bin/env python3
"""Writes the fuzz targets' small seed corpus (fuzz/corpus/), a few hundred bytes per file.

usage: fuzz/make_seed_corpus.py          (standard library only; the output is committed)
Seeds are valid inputs, so mutations start from deep inside the parsers: IDX files raw and gzip (the
first byte of an fuzz_idx input picks one file, 0, or an image/label pair, 1, whose second byte says
where to split), and safetensors files like nnfuse's checkpoints. Corpora that fuzzing grows go to the
build directory (scripts/fuzz), never here.
"""
import gzip
import json
import os
import struct

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(kind, name, data):
    os.makedirs(os.path.join(root, kind), exist_ok=True)
    with open(os.path.join(root, kind, name), "wb") as f:
        f.write(data)


def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(payload)


def gz(data):
    return gzip.compress(data, mtime=0)  # fixed mtime: the same bytes on every run


images = idx(0x08, [3, 4, 4], [(i * 37) % 256 for i in range(48)])
labels = idx(0x08, [3], [1, 9, 0])
write("idx", "labels-raw", b"\x00" + labels)
write("idx", "images-raw", b"\x00" + images)
write("idx", "images-gz", b"\x00" + gz(images))
write("idx", "floats-raw", b"\x00" + idx(0x0D, [2], [0] * 8))
split = round(255 * len(images) / (len(images) + len(labels) - 1))
pair = bytes([1, split]) + images + labels
write("idx", "pair-raw", pair)
write("idx", "pair-gz", bytes([1, 128]) + gz(images) + gz(labels))


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


f32 = lambda *v: struct.pack(f"<{len(v)}f", *v)
write("safetensors", "weights.st", safetensors(
    [("batch_normalization/gamma:0", "F32", [3], f32(1, 1, 1)),
     ("dense/kernel:0", "F32", [3, 2], f32(0.5, -0.5, 0.25, 2, 3, -1))],
    {"model": "tiny", "content": "weights", "nnfuse_version": "0.1.0"}))
write("safetensors", "training.st", safetensors(
    [("optimizer/iterations", "I64", [], struct.pack("<q", 7)),
     ("dense/bias:0", "F32", [2], f32(0, 1)),
     ("optimizer/dense/bias:0/m", "F32", [2], f32(0.1, 0.2))],
    {"content": "training", "epochs_done": "2", "seed": "42"}))
write("safetensors", "empty.st", safetensors([]))
write("safetensors", "odd-dtypes.st", safetensors(
    [("e", "F32", [0, 5], b""), ("h", "BF16", [2], b"\x80\x3f\x00\x40"), ("q", "F4", [4], b"\x12\x34")]))
