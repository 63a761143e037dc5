#!/usr/bin/env python3
"""Makes the small import fixtures in Tests/PoPSTests/Fixtures/import: real
Stable-Baselines3, CleanRL-layout and plain state-dict files, the outputs
torch computes for fixed inputs (expected.json), and broken or hostile files.

Run once by hand in a throwaway venv (torch is large), from the repository root:
    python3 -m venv /tmp/fixture-venv
    /tmp/fixture-venv/bin/pip install torch stable-baselines3 safetensors numpy onnx onnxruntime
    /tmp/fixture-venv/bin/python scripts/make_import_fixtures.py
"""
import io
import json
import os
import zipfile

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import save_file
from stable_baselines3 import DQN, PPO

OUT = "Tests/PoPSTests/Fixtures/import"
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)
rng = np.random.default_rng(0)
expected = {}


def record(name, inputs, outputs, scale=1.0):
    """Observations as the environment gives them; the pops network takes them times `scale`."""
    raw = np.asarray(inputs, dtype=np.float32).reshape(len(inputs), -1)
    expected[name] = {
        "inputs": raw.astype(int).tolist() if np.all(raw == np.round(raw)) else raw.tolist(),
        "scale": scale,
        "outputs": np.asarray(outputs, dtype=np.float32).tolist(),
    }


class SmallImages(gym.Env):
    """A 36x36 single-channel image space: the smallest the Nature CNN takes."""
    observation_space = gym.spaces.Box(0, 255, (36, 36, 1), np.uint8)
    action_space = gym.spaces.Discrete(3)

    def reset(self, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, True, False, {}


# Stable-Baselines3 DQN MlpPolicy (ReLU) and PPO MlpPolicy (Tanh, SB3's default).
obs = rng.uniform(-1, 1, (5, 4)).astype(np.float32)
dqn = DQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8, 8]), buffer_size=10, seed=1)
dqn.save(f"{OUT}/sb3_dqn_mlp.zip")
with torch.no_grad():
    record("sb3_dqn_mlp.zip", obs, dqn.q_net(torch.as_tensor(obs)).numpy())
ppo = PPO("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8, 8]), n_steps=16, batch_size=16, seed=2)
ppo.save(f"{OUT}/sb3_ppo_mlp.zip")
with torch.no_grad():
    p = ppo.policy
    latent = p.mlp_extractor.forward_actor(p.extract_features(torch.as_tensor(obs), p.pi_features_extractor))
    record("sb3_ppo_mlp.zip", obs, p.action_net(latent).numpy())

# Stable-Baselines3 PPO CnnPolicy on 36x36 images (NatureCNN, divides by 255).
cnn = PPO("CnnPolicy", SmallImages(), policy_kwargs=dict(features_extractor_kwargs=dict(features_dim=16)),
          n_steps=16, batch_size=16, seed=3)
cnn.save(f"{OUT}/sb3_ppo_cnn.zip")
images = rng.integers(0, 256, (3, 1, 36, 36)).astype(np.uint8)
with torch.no_grad():
    p = cnn.policy
    features = p.extract_features(torch.as_tensor(images), p.pi_features_extractor)
    record("sb3_ppo_cnn.zip", images, p.action_net(p.mlp_extractor.forward_actor(features)).numpy(), scale=1 / 255)


# Stable-Baselines3 DQN CnnPolicy on the same images; the zip is written again without
# policy.optimizer.pth (Adam's moments, which pops never reads) to keep the fixture small.
qcnn = DQN("CnnPolicy", SmallImages(), policy_kwargs=dict(features_extractor_kwargs=dict(features_dim=16)),
           buffer_size=10, seed=4)
qcnn.save("/tmp/sb3_dqn_cnn_full.zip")
with zipfile.ZipFile("/tmp/sb3_dqn_cnn_full.zip") as full, zipfile.ZipFile(f"{OUT}/sb3_dqn_cnn.zip", "w") as small:
    for item in full.infolist():
        if item.filename != "policy.optimizer.pth":
            small.writestr(item, full.read(item.filename))
with torch.no_grad():
    record("sb3_dqn_cnn.zip", images, qcnn.q_net(torch.as_tensor(images)).numpy(), scale=1 / 255)

# CleanRL layouts with tiny widths: DQN (network.N) and PPO Atari (network.N + actor + critic).
class CleanRLDQN(nn.Module):
    def __init__(self):
        super().__init__()
        self.network = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))


class CleanRLPPOAtari(nn.Module):
    def __init__(self):
        super().__init__()
        self.network = nn.Sequential(
            nn.Conv2d(4, 4, 8, stride=4), nn.ReLU(), nn.Conv2d(4, 8, 4, stride=2), nn.ReLU(),
            nn.Conv2d(8, 8, 3, stride=1), nn.ReLU(), nn.Flatten(), nn.Linear(8, 16), nn.ReLU())
        self.actor = nn.Linear(16, 3)
        self.critic = nn.Linear(16, 1)


class CleanRLDQNAtari(nn.Module):
    def __init__(self):
        super().__init__()
        self.network = nn.Sequential(
            nn.Conv2d(4, 4, 8, stride=4), nn.ReLU(), nn.Conv2d(4, 8, 4, stride=2), nn.ReLU(),
            nn.Conv2d(8, 8, 3, stride=1), nn.ReLU(), nn.Flatten(), nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))


m = CleanRLDQNAtari()
torch.save(m.state_dict(), f"{OUT}/cleanrl_dqn_atari.cleanrl_model")
atari_frames = rng.integers(0, 256, (2, 4, 36, 36)).astype(np.float32)
with torch.no_grad():
    record("cleanrl_dqn_atari.cleanrl_model", atari_frames, m.network(torch.as_tensor(atari_frames) / 255.0).numpy(), scale=1 / 255)
m = CleanRLDQN()
torch.save(m.state_dict(), f"{OUT}/cleanrl_dqn.cleanrl_model")
with torch.no_grad():
    record("cleanrl_dqn.cleanrl_model", obs, m.network(torch.as_tensor(obs)).numpy())
m = CleanRLPPOAtari()
torch.save(m.state_dict(), f"{OUT}/cleanrl_ppo_atari.cleanrl_model")
frames = rng.integers(0, 256, (2, 4, 36, 36)).astype(np.float32)
with torch.no_grad():
    record("cleanrl_ppo_atari.cleanrl_model", frames, m.actor(m.network(torch.as_tensor(frames) / 255.0)).numpy(), scale=1 / 255)

# A plain safetensors state dict of an nn.Sequential.
seq = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
save_file(seq.state_dict(), f"{OUT}/plain_state_dict.safetensors")
with torch.no_grad():
    record("plain_state_dict.safetensors", obs, seq(torch.as_tensor(obs)).numpy())

with open(f"{OUT}/expected.json", "w") as f:
    json.dump(expected, f)


# Hostile and broken files.
def torch_zip(path, pickle_bytes, data=None, name="archive"):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{name}/data.pkl", pickle_bytes)
        z.writestr(f"{name}/byteorder", "little")
        for key, value in (data or {}).items():
            z.writestr(f"{name}/data/{key}", value)


# A pickle that would call os.system("touch PWNED") if it were unpickled.
torch_zip(f"{OUT}/evil_os_system.pt", b"\x80\x02cos\nsystem\nX\x0b\x00\x00\x00touch PWNEDq\x00\x85R.")
# A tensor whose offset runs past the end of its 4-float storage.
good = io.BytesIO()
torch.save({"0.weight": torch.zeros(2, 2)}, good)
with zipfile.ZipFile(good) as z:
    pkl = z.read([n for n in z.namelist() if n.endswith("data.pkl")][0])
# _rebuild_tensor_v2(storage, offset, ...): the offset 0 is BININT1 0 right after BINPERSID ('Q' then 'K\x00').
bad = pkl.replace(b"QK\x00", b"QK\x03", 1)
assert bad != pkl
torch_zip(f"{OUT}/storage_overrun.pt", bad, {"0": np.zeros(4, np.float32).tobytes()})
# A torch zip with no data.pkl, and a truncated SB3 zip.
with zipfile.ZipFile(f"{OUT}/no_data_pkl.pt", "w") as z:
    z.writestr("archive/byteorder", "little")
data = open(f"{OUT}/sb3_dqn_mlp.zip", "rb").read()
open(f"{OUT}/truncated_sb3.zip", "wb").write(data[: len(data) // 2])
# A stored tensor with one flipped bit: its CRC-32 no longer matches.
data = bytearray(open(f"{OUT}/cleanrl_dqn.cleanrl_model", "rb").read())
with zipfile.ZipFile(f"{OUT}/cleanrl_dqn.cleanrl_model") as z:
    info = [i for i in z.infolist() if i.filename.endswith("/data/0")][0]
name_length, extra_length = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little"), \
    int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
data[info.header_offset + 30 + name_length + extra_length] ^= 1
open(f"{OUT}/bad_crc.pt", "wb").write(bytes(data))


# The reference implementation's TF1 checkpoints, written by a tiny writer of the
# format (no TensorFlow): a data file of raw float32 tensors and an index that is
# a LevelDB-style table of BundleEntryProto records, with masked CRC-32C.
def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(n):
    out = b""
    while True:
        out += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
        n >>= 7
        if not n:
            return out


def block(entries):
    body = b"".join(varint(0) + varint(len(k)) + varint(len(v)) + k + v for k, v in entries)
    body += (0).to_bytes(4, "little") + (1).to_bytes(4, "little")  # one restart point at 0
    return body + b"\x00" + masked(body + b"\x00").to_bytes(4, "little")


def write_tf1(prefix, tensors, ints=()):
    data, records = b"", {}
    for name in sorted(list(tensors) + list(ints)):
        is_int = name in ints
        raw = (np.array(0, "<i4") if is_int else np.asarray(tensors[name], "<f4")).tobytes()
        shape = () if is_int else np.shape(tensors[name])
        dims = b"".join(b"\x12" + varint(len(d)) + d for d in (b"\x08" + varint(n) for n in shape))
        records[name.encode()] = (b"\x08" + varint(3 if is_int else 1) + b"\x12" + varint(len(dims)) + dims
                                  + b"\x20" + varint(len(data)) + b"\x28" + varint(len(raw))
                                  + b"\x35" + masked(raw).to_bytes(4, "little"))
        data += raw
    header = b"\x08\x01" + b"\x1a\x02\x08\x01"  # num_shards 1, version {producer 1}
    entries = [(b"", header)] + sorted(records.items())
    data_block = block(entries)
    meta_block = block([])
    index_block = block([(entries[-1][0], varint(0) + varint(len(data_block) - 5))])
    meta_at, index_at = len(data_block), len(data_block) + len(meta_block)
    handles = varint(meta_at) + varint(len(meta_block) - 5) + varint(index_at) + varint(len(index_block) - 5)
    footer = handles.ljust(40, b"\x00") + (0xDB4775248B80FB57).to_bytes(8, "little")
    open(prefix + ".index", "wb").write(data_block + meta_block + index_block + footer)
    open(prefix + ".data-00000-of-00001", "wb").write(data)


def tf_dense(x, w, b):
    return x @ w + b


def tf_conv(x, k, b, stride):
    """VALID NHWC convolution, as tf.nn.conv2d computes it (x: [H, W, C], k: [kh, kw, C, O])."""
    kh, kw, _, o = k.shape
    oh, ow = (x.shape[0] - kh) // stride + 1, (x.shape[1] - kw) // stride + 1
    y = np.zeros((oh, ow, o), np.float32)
    for i in range(oh):
        for j in range(ow):
            patch = x[i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            y[i, j] = np.tensordot(patch, k, axes=3) + b
    return y


relu = lambda v: np.maximum(v, 0)
f32 = lambda *shape: rng.normal(0, 0.5, shape).astype(np.float32)
mask = lambda *shape: (rng.uniform(size=shape) > 0.3).astype(np.float32)
# A reference-style dense teacher: fc_1..fc_2, logits, pruning masks, Adam slots and an int step.
dense = {"fc_1/weights": f32(4, 8), "fc_1/biases": f32(8), "fc_1/mask": mask(4, 8), "fc_1/threshold": f32(),
         "fc_2/weights": f32(8, 8), "fc_2/biases": f32(8), "fc_2/mask": mask(8, 8),
         "logits/weights": f32(8, 2), "logits/biases": f32(2), "logits/mask": mask(8, 2),
         "fc_1/weights/Adam": f32(4, 8), "beta1_power": f32()}
os.makedirs(f"{OUT}/tf1_dense", exist_ok=True)
write_tf1(f"{OUT}/tf1_dense/model.ckpt", dense, ints=["Variable"])
x = rng.uniform(-1, 1, (4, 4)).astype(np.float32)
h = relu(tf_dense(x, dense["fc_1/weights"] * dense["fc_1/mask"], dense["fc_1/biases"]))
h = relu(tf_dense(h, dense["fc_2/weights"] * dense["fc_2/mask"], dense["fc_2/biases"]))
record("tf1_dense/model.ckpt", x, tf_dense(h, dense["logits/weights"] * dense["logits/mask"], dense["logits/biases"]))
# A reference-style conv teacher (NHWC, flattened as [H, W, C]) on 44x44x2 images.
conv = {"conv_1/weights": f32(8, 8, 2, 3), "conv_1/biases": f32(3), "conv_2/weights": f32(4, 4, 3, 4),
        "conv_2/biases": f32(4), "conv_3/weights": f32(3, 3, 4, 4), "conv_3/biases": f32(4),
        "fc_4/weights": f32(16, 8), "fc_4/biases": f32(8), "logits/weights": f32(8, 3), "logits/biases": f32(3)}
os.makedirs(f"{OUT}/tf1_conv", exist_ok=True)
write_tf1(f"{OUT}/tf1_conv/model.ckpt", conv)
images = rng.uniform(0, 1, (2, 44, 44, 2)).astype(np.float32)
outputs = []
for image in images:
    h = relu(tf_conv(image, conv["conv_1/weights"], conv["conv_1/biases"], 4))
    h = relu(tf_conv(h, conv["conv_2/weights"], conv["conv_2/biases"], 2))
    h = relu(tf_conv(h, conv["conv_3/weights"], conv["conv_3/biases"], 1))
    h = relu(tf_dense(h.reshape(-1), conv["fc_4/weights"], conv["fc_4/biases"]))
    outputs.append(tf_dense(h, conv["logits/weights"], conv["logits/biases"]))
record("tf1_conv/model.ckpt", images.transpose(0, 3, 1, 2), outputs)  # pops takes [C, H, W]

# ONNX graphs of the ops a policy uses, exported by torch, outputs computed by onnxruntime.
import onnxruntime


class ByteCNN(nn.Module):
    """Takes uint8 frames: Cast and Div by 255 inside the graph."""
    def __init__(self):
        super().__init__()
        self.net = CleanRLPPOAtari().network
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.net(x.float() / 255.0))


class MatMulAdd(nn.Module):
    """x @ W + b, which torch exports as MatMul and Add."""
    def __init__(self):
        super().__init__()
        self.w1, self.b1 = nn.Parameter(torch.randn(4, 6)), nn.Parameter(torch.randn(6))
        self.w2, self.b2 = nn.Parameter(torch.randn(6, 2)), nn.Parameter(torch.randn(2))

    def forward(self, x):
        return torch.relu(x @ self.w1 + self.b1) @ self.w2 + self.b2


def export_onnx(name, module, example, inputs, scale=1.0):
    torch.onnx.export(module, example, f"{OUT}/{name}", dynamo=False, input_names=["obs"], output_names=["outputs"],
                      dynamic_axes={"obs": {0: "batch"}, "outputs": {0: "batch"}}, opset_version=13)
    session = onnxruntime.InferenceSession(f"{OUT}/{name}")
    record(name, inputs.astype(np.float32), session.run(None, {"obs": inputs})[0], scale=scale)


export_onnx("onnx_mlp_tanh.onnx", nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)), torch.zeros(1, 4), obs)
export_onnx("onnx_matmul.onnx", MatMulAdd(), torch.zeros(1, 4), obs)
export_onnx("onnx_cnn_uint8.onnx", ByteCNN(), torch.zeros(1, 4, 36, 36, dtype=torch.uint8),
            rng.integers(0, 256, (2, 4, 36, 36)).astype(np.uint8), scale=1 / 255)

with open(f"{OUT}/expected.json", "w") as f:
    json.dump(expected, f)
# The dense checkpoint with one flipped bit in its data file.
os.makedirs(f"{OUT}/tf1_bad_crc", exist_ok=True)
open(f"{OUT}/tf1_bad_crc/model.ckpt.index", "wb").write(open(f"{OUT}/tf1_dense/model.ckpt.index", "rb").read())
corrupt = bytearray(open(f"{OUT}/tf1_dense/model.ckpt.data-00000-of-00001", "rb").read())
corrupt[10] ^= 1
open(f"{OUT}/tf1_bad_crc/model.ckpt.data-00000-of-00001", "wb").write(bytes(corrupt))
# The dense checkpoint with one flipped bit in its index's table block.
os.makedirs(f"{OUT}/tf1_bad_index", exist_ok=True)
index = bytearray(open(f"{OUT}/tf1_dense/model.ckpt.index", "rb").read())
index[20] ^= 1
open(f"{OUT}/tf1_bad_index/model.ckpt.index", "wb").write(bytes(index))
open(f"{OUT}/tf1_bad_index/model.ckpt.data-00000-of-00001", "wb").write(
    open(f"{OUT}/tf1_dense/model.ckpt.data-00000-of-00001", "rb").read())
print("wrote", sorted(os.listdir(OUT)))
