#!/usr/bin/env python3
"""pops against PyTorch and ONNX Runtime on the same networks, weights and
steps (`make bench-peers`). Rounds alternate: pops (pops-bench peers), then
PyTorch, then ONNX Runtime, so drift in the machine's speed hits all three.
Every round is printed, not only the best, with the ratios of that round.

Usage: bench_peers.py [--pops-bench PATH] [--rounds N] [--out DIR]
Needs torch, numpy and onnxruntime (make bench-peers builds .venv-bench).
"""
import argparse, json, os, platform, struct, subprocess, sys, time

import numpy as np
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F

THREADS = 2


def read_safetensors(path):
    """Tensors of a safetensors file as numpy arrays (the format is a JSON
    header and raw little-endian data; no code runs)."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype=np.float32).reshape(entry["shape"]).copy()
    return out


def build(name):
    """The same layer stacks as pops-bench's peerNetworks."""
    if name == "mlp":
        return nn.Sequential(nn.Linear(4, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 2))
    if name == "lunar":
        return nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
    return nn.Sequential(
        nn.Conv2d(4, 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(), nn.Conv2d(64, 64, 3, 1), nn.ReLU(),
        nn.Flatten(), nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, 3))


def load(name, folder):
    net = build(name)
    tensors = read_safetensors(os.path.join(folder, f"{name}.safetensors"))
    state = {key[len("layers."):]: torch.from_numpy(value) for key, value in tensors.items()}
    net.load_state_dict(state)
    return net


def measure(body, seconds=0.5, rounds=5):
    """Best per-call time of `rounds` rounds, as pops-bench's measure()."""
    for _ in range(3):
        body()
    calls, t0 = 1, time.perf_counter()
    body()
    elapsed = time.perf_counter() - t0
    while elapsed < seconds / rounds:
        calls *= 2
        t0 = time.perf_counter()
        for _ in range(calls):
            body()
        elapsed = time.perf_counter() - t0
    best = elapsed / calls
    for _ in range(rounds - 1):
        t0 = time.perf_counter()
        for _ in range(calls):
            body()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def dqn_update(name, folder, batch, shape):
    online = load(name, folder)
    target = load(name, folder)
    opt = torch.optim.Adam(online.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(0)
    states = torch.rand((batch,) + shape, generator=gen)
    nxt = torch.rand((batch,) + shape, generator=gen)
    actions = online(states[:1]).shape[1]
    taken = torch.randint(0, actions, (batch, 1), generator=gen)

    def step():
        with torch.no_grad():
            goal = 1 + 0.99 * target(nxt).max(dim=1).values
        q = online(states).gather(1, taken).squeeze(1)
        loss = F.smooth_l1_loss(q, goal, reduction="sum")
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()
    return step


def distillation_update(name, folder, batch):
    student = load(name, folder)
    opt = torch.optim.RMSprop(student.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    gen = torch.Generator().manual_seed(0)
    states = torch.rand((batch, 8), generator=gen) * 2 - 1
    teacher = torch.softmax((torch.rand((batch, 4), generator=gen) * 2 - 1) / 0.01, dim=1)

    def step():
        loss = F.kl_div(F.log_softmax(student(states), dim=1), teacher, reduction="sum")
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()
    return step


def torch_round(folder):
    torch.set_num_threads(THREADS)
    r = {
        "mlp_dqn_update_per_s": 1 / measure(dqn_update("mlp", folder, 128, (4,)), 2, 3),
        "lunar_distillation_update_per_s": 1 / measure(distillation_update("lunar", folder, 512), 2, 3),
        "cnn_dqn_update_per_s": 1 / measure(dqn_update("cnn", folder, 32, (4, 84, 84)), 3, 3),
    }
    for name, shape in [("mlp", (1, 4)), ("lunar", (1, 8)), ("cnn", (1, 4, 84, 84))]:
        net = load(name, folder)
        x = torch.rand(shape)
        with torch.inference_mode():
            r[f"{name}_forward_b1_us"] = 1e6 * measure(lambda: net(x), 1, 5)
    return r


def ort_round(folder):
    r = {}
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    for name, shape in [("mlp", (1, 4)), ("lunar", (1, 8)), ("cnn", (1, 4, 84, 84))]:
        session = ort.InferenceSession(os.path.join(folder, f"{name}.onnx"), options, providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: np.random.rand(*shape).astype(np.float32)}
        r[f"{name}_forward_b1_us"] = 1e6 * measure(lambda: session.run(None, feed), 1, 5)
    return r


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pops-bench", default=".build/release/pops-bench")
    parser.add_argument("--pops", default=".build/release/pops")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default="runs/bench-peers")
    args = parser.parse_args()
    kernels = subprocess.run([args.pops, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"bench-peers on {cpu_model()}, {os.cpu_count()} cores, {THREADS} threads; pops {kernels}; "
          f"torch {torch.__version__}, onnxruntime {ort.__version__}")
    rows = [
        ("MLP DQN update 4-256-256-128-2, batch 128", "mlp_dqn_update_per_s", "/s", "rate"),
        ("LunarLander distillation update 8-64-64-64-4, batch 512", "lunar_distillation_update_per_s", "/s", "rate"),
        ("Nature-CNN DQN update, batch 32", "cnn_dqn_update_per_s", "/s", "rate"),
        ("MLP forward batch 1", "mlp_forward_b1_us", "us", "time"),
        ("LunarLander actor forward batch 1", "lunar_forward_b1_us", "us", "time"),
        ("Nature-CNN forward batch 1", "cnn_forward_b1_us", "us", "time"),
    ]
    for round_ in range(1, args.rounds + 1):
        out = subprocess.run([args.pops_bench, "peers", args.out], capture_output=True, text=True, check=True).stdout
        pops = json.loads(out.strip().splitlines()[-1])
        t = torch_round(args.out)
        o = ort_round(args.out)
        print(f"\nround {round_}")
        print(f"{'':58} {'pops':>10} {'PyTorch':>10} {'ratio':>7} {'ORT':>10} {'ratio':>7}")
        for label, key, unit, kind in rows:
            p, tv = pops[key], t[key]
            ratio = p / tv if kind == "rate" else tv / p
            line = f"{label:58} {p:>8.1f}{unit:>2} {tv:>8.1f}{unit:>2} {ratio:>6.2f}x"
            if key in o:
                line += f" {o[key]:>8.1f}{unit:>2} {o[key] / p:>6.2f}x"
            print(line)
    print("\nratio: how many times faster pops is (rates: pops/peer; times: peer/pops).")


if __name__ == "__main__":
    sys.exit(main())
