#!/usr/bin/env python3
"""Writes Tests/PoPSNNTests/Fixtures/optimizers.json: parameters after a few
Adam, RMSProp and SGD steps, computed independently with numpy from the
published update rules (PyTorch's torch.optim formulas), so the Swift
optimizers are checked against numbers they did not produce.

Usage: python3 scripts/make_optimizer_fixture.py
"""
import json
import os

import numpy as np

rng = np.random.default_rng(7)
params0 = rng.uniform(-1, 1, size=11).astype(np.float64)
grads = [rng.uniform(-1, 1, size=11).astype(np.float64) for _ in range(4)]


def adam(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    p = params0.copy(); m = np.zeros_like(p); v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat = m / (1 - b1 ** t)
        vhat = v / (1 - b2 ** t)
        p = p - lr * mhat / (np.sqrt(vhat) + eps)
    return p


def rmsprop(lr=1e-3, rho=0.9, eps=1e-7):
    p = params0.copy(); v = np.zeros_like(p)
    for g in grads:
        v = rho * v + (1 - rho) * g * g
        p = p - lr * g / (np.sqrt(v) + eps)
    return p


def sgd(lr=1e-2, momentum=0.0):
    p = params0.copy(); b = np.zeros_like(p)
    for g in grads:
        b = momentum * b + g
        p = p - lr * b
    return p


fixture = {
    "params": params0.tolist(),
    "grads": [g.tolist() for g in grads],
    "adam": {"lr": 0.01, "result": adam(lr=0.01).tolist()},
    "rmsprop": {"lr": 0.01, "rho": 0.9, "result": rmsprop(lr=0.01).tolist()},
    "sgd": {"lr": 0.1, "momentum": 0.9, "result": sgd(lr=0.1, momentum=0.9).tolist()},
}
out = os.path.join(os.path.dirname(__file__), "..", "Tests", "PoPSNNTests", "Fixtures", "optimizers.json")
with open(out, "w") as f:
    json.dump(fixture, f, indent=1)
print("wrote", os.path.normpath(out))
