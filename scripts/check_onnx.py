#!/usr/bin/env python3
"""Checks an ONNX model with onnx.checker and runs it with onnxruntime: the
test suite's independent check of `pops export --format onnx`.

Usage: check_onnx.py MODEL.onnx INPUTS.json  (a list of observations, as the
environment gives them). Prints JSON: {"outputs": [...], "action": [...],
"input_type": "...", "metadata": {...}}.
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime

model = onnx.load(sys.argv[1])
onnx.checker.check_model(model, full_check=True)
session = onnxruntime.InferenceSession(sys.argv[1])
inp = session.get_inputs()[0]
dtype = np.uint8 if inp.type == "tensor(uint8)" else np.float32
x = np.array(json.load(open(sys.argv[2])), dtype=dtype)
outputs, action = session.run(["outputs", "action"], {inp.name: x})
print(json.dumps({
    "outputs": outputs.tolist(), "action": action.tolist(), "input_type": inp.type,
    "metadata": {p.key: p.value for p in model.metadata_props},
}))
