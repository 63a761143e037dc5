#!/usr/bin/env python3
"""pops' Gymnasium worker: runs one Gymnasium environment and answers pops
over stdin/stdout with a compact binary protocol (all little-endian).

Start-up: `python gym_worker.py ENV_ID [JSON_KWARGS]`. The worker writes
  b"POPS" u32 version, u32 n, n bytes of JSON
      {"obs_shape": [...], "obs_dtype": "float32" | "uint8", "actions": N,
       "max_episode_steps": int | null, "reward_threshold": float | null}
or, if the environment cannot be made or its spaces are unsupported,
  b"ERRR" u32 n, n bytes of UTF-8 message, and exits with status 2.

Requests and replies:
  b"R" u8 has_seed u64 seed      -> observation bytes
  b"S" i64 action                -> observation bytes, f64 reward, u8 terminated, u8 truncated
  b"Q"                           -> (the worker exits)
Observation bytes are the raw array (float32 or uint8, C order, obs_shape).
"""
import json
import struct
import sys

VERSION = 1


def fail(message):
    data = message.encode("utf-8")
    sys.stdout.buffer.write(b"ERRR" + struct.pack("<I", len(data)) + data)
    sys.stdout.buffer.flush()
    sys.exit(2)


def main():
    if len(sys.argv) < 2:
        fail("usage: gym_worker.py ENV_ID [JSON_KWARGS]")
    env_id = sys.argv[1]
    kwargs = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    try:
        import numpy as np
        import gymnasium as gym
    except ImportError as error:
        fail(f"the Python packages are missing ({error}); run `make deps-gym`")
    if env_id.startswith("ALE/"):
        try:
            import ale_py
            gym.register_envs(ale_py)
        except ImportError:
            fail("ale-py is not installed; run `make deps-gym-atari`")
    try:
        env = gym.make(env_id, **kwargs)
    except Exception as error:  # unknown id, missing extra, bad kwargs
        fail(f"gymnasium cannot make '{env_id}': {type(error).__name__}: {error}")
    if not isinstance(env.action_space, gym.spaces.Discrete):
        fail(f"'{env_id}' has action space {env.action_space}; pops supports Discrete only")
    space = env.observation_space
    if not isinstance(space, gym.spaces.Box) or space.dtype not in (np.float32, np.float64, np.uint8):
        fail(f"'{env_id}' has observation space {space}; pops supports Box of float32, float64 or uint8")
    dtype = np.uint8 if space.dtype == np.uint8 else np.float32
    spec = env.spec
    info = {
        "obs_shape": list(space.shape),
        "obs_dtype": "uint8" if dtype == np.uint8 else "float32",
        "actions": int(env.action_space.n),
        "action_start": int(env.action_space.start),
        "max_episode_steps": spec.max_episode_steps if spec else None,
        "reward_threshold": spec.reward_threshold if spec else None,
    }
    data = json.dumps(info).encode("utf-8")
    out = sys.stdout.buffer
    out.write(b"POPS" + struct.pack("<II", VERSION, len(data)) + data)
    out.flush()
    start = info["action_start"]

    read = sys.stdin.buffer.read
    while True:
        op = read(1)
        if op in (b"", b"Q"):
            break
        if op == b"R":
            has_seed, seed = struct.unpack("<BQ", read(9))
            obs, _ = env.reset(seed=int(seed) if has_seed else None)
            out.write(np.ascontiguousarray(obs, dtype=dtype).tobytes())
        elif op == b"S":
            (action,) = struct.unpack("<q", read(8))
            obs, reward, terminated, truncated, _ = env.step(int(action) + start)
            out.write(np.ascontiguousarray(obs, dtype=dtype).tobytes())
            out.write(struct.pack("<dBB", float(reward), bool(terminated), bool(truncated)))
        else:
            break
        out.flush()
    env.close()


if __name__ == "__main__":
    main()
