#!/usr/bin/env python3
"""Loads a pops model with nothing but numpy and runs it: proof that the file
format (docs/model-format.md) needs no pops, PyTorch or safetensors package.

Usage: python3 scripts/run_with_numpy.py MODEL.safetensors [x1 x2 ...]
Prints the architecture and the network output for the given observation
(default: zeros).
"""
import json
import struct
import sys

import numpy as np


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_size])
    meta = header.pop("__metadata__")
    assert meta["format"] == "pops" and meta["pops_format_version"] in ("1", "2"), meta
    arch = json.loads(meta["architecture"])
    base = 8 + header_size
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[base + begin:base + end], dtype="<f4").reshape(info["shape"])
    # Version 2 says how observations enter the network (version 1: float32, unscaled).
    encoding = json.loads(meta.get("input", '{"dtype": "float32", "scale": 1}'))
    return arch, tensors, json.loads(meta.get("provenance", "{}")), encoding


def forward(arch, tensors, x):
    for i, layer in enumerate(arch["layers"]):
        if layer["type"] == "linear":
            x = x @ tensors[f"layers.{i}.weight"].T + tensors[f"layers.{i}.bias"]
        elif layer["type"] == "relu":
            x = np.maximum(x, 0)
        elif layer["type"] == "tanh":
            x = np.tanh(x)
        else:
            raise ValueError(f"unknown layer type {layer['type']}")
    return x


if __name__ == "__main__":
    arch, tensors, provenance, encoding = load(sys.argv[1])
    n_in = int(np.prod(arch["input_shape"]))
    # The observation as the environment gives it, then scaled as the model records.
    x = np.array([float(v) for v in sys.argv[2:]] or [0.0] * n_in, dtype=np.float32) * np.float32(encoding["scale"])
    print("layers:", [l["type"] for l in arch["layers"]], "provenance:", provenance.get("env"))
    print("output:", " ".join(f"{v:.6f}" for v in forward(arch, tensors, x)))
