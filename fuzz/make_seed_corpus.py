#!/usr/bin/env python3
"""Writes the fuzz targets' small seed corpus (fuzz/corpus/), a few hundred bytes per file.

usage: fuzz/make_seed_corpus.py          (standard library only; the output is committed)
Seeds are valid inputs, so mutations start from deep inside the parsers: IDX files raw and gzip (the
first byte of an fuzz_idx input picks one file, 0, or an image/label pair, 1, whose second byte says
where to split), CSV tables (the first byte of a fuzz_csv input picks the column selection, see
fuzz_csv.cpp), NPY arrays (the first byte of a fuzz_npy input picks one array, a features table or a
features/targets pair, the second where to split the pair), and safetensors files like nnfuse's checkpoints. Corpora that fuzzing grows go to the
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


# fuzz_csv: first byte = mode (0 all features, 1 class id "y", 2 values "y","z" with features "b","a",
# 3 scikit-learn layout, 4 ';'-delimited with value "y"; 0x84 space-delimited).
write("csv", "all-features", b"\x00" + b"a,b,c\n1,2.5,-3\n.5,1e3,0\n")
write("csv", "class-id", b"\x01" + b"a,b,y\n1.5,-2,0\n0.25,300,2\n")
write("csv", "values-quoted-crlf", b"\x02" + b"\"a\",b,\"y\",z\r\n1,\"2\",3.5,-4\r\n\r\n5,6,7,8")
write("csv", "values-gz", b"\x02" + gz(b"a,b,y,z\n1,2,3,4\n5,6,7,8\n"))
write("csv", "sklearn", b"\x03" + b"2,2,class_0,class_1\n1.0,2.0,1\n3.5,4.5,0\n")
write("csv", "semicolon", b"\x04" + b"\xef\xbb\xbfa;y\n1;2\n3;4\n")
write("csv", "spaces", b"\x84" + b"a y\n1 2\n3 4\n")


def npy(descr, shape, payload, fortran=False, major=1):
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    preamble = 10 if major == 1 else 12
    header += " " * (-(preamble + len(header) + 1) % 64) + "\n"
    size = struct.pack("<H" if major == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([major, 0]) + size + header.encode() + payload


x = npy("<f4", "(3, 2)", f32(1, -2.5, 0.1875, 100, 0, -0.5))
ids = npy("<i8", "(3,)", struct.pack("<3q", 2, 0, 1))
values = npy("<f8", "(3, 1)", struct.pack("<3d", 0.5, -1, 2))
write("npy", "f4", b"\x00\x00" + x)
write("npy", "f8-v2", b"\x00\x00" + npy("<f8", "(2,)", struct.pack("<2d", 1, 2), major=2))
write("npy", "i4-fortran-v3", b"\x00\x00" + npy("<i4", "(2, 2)", struct.pack("<4i", 1, 2, 3, 4), True, 3))
write("npy", "be-f4", b"\x01\x00" + npy(">f4", "(1, 2)", struct.pack(">2f", 1, -2.5)))
write("npy", "u1-gz", b"\x01\x00" + gz(npy("|u1", "(2, 2)", bytes([0, 1, 200, 255]))))
write("npy", "pair-ids", b"\x02" + bytes([round(255 * len(x) / (len(x) + len(ids)))]) + x + ids)
write("npy", "pair-values", b"\x03" + bytes([round(255 * len(x) / (len(x) + len(values)))]) + x + values)
