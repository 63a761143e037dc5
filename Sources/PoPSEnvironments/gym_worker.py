#!/usr/bin/env python3
"""pops' Gymnasium worker: runs one Gymnasium environment and answers pops
over stdin/stdout with a compact binary protocol (all little-endian).

Start-up: `python gym_worker.py ENV_ID[?OPTIONS] [JSON_KWARGS]`. OPTIONS are
`key=value` pairs joined by `&`:
  actions=1,2,3   pops action i is the environment's action map[i]
                  (the reference's 3-action Pong is `ALE/Pong-v5?actions=1,2,3`)
  atari=0         no DeepMind preprocessing for an ALE id
An id with a module part (`MODULE:ENV`) is refused: Gymnasium would import
MODULE, and ids also come from files (pops refuses them before starting the
worker; this is the second line of defence). The modules that register
environments are the ones the user lists, comma-separated, in
POPS_GYM_MODULES; the worker imports them before it makes the environment.
ALE ids (`ALE/...`) get the DeepMind preprocessing of the reference: no sticky
actions, up to 30 no-ops on reset, frame skip 4 with max-pooling, end of
episode on life loss, FIRE on reset, rewards clipped to their sign, 84x84
grayscale, 4 frames stacked: observations are uint8 [4, 84, 84].

The worker writes
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
import importlib
import json
import os
import re
import signal
import struct
import sys

VERSION = 1


def fail(message):
    data = message.encode("utf-8")
    sys.stdout.buffer.write(b"ERRR" + struct.pack("<I", len(data)) + data)
    sys.stdout.buffer.flush()
    sys.exit(2)


def main():
    # Ctrl-C goes to the whole terminal's process group: pops decides what it
    # means (a stage checkpoint, then a clean stop) and ends its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if len(sys.argv) < 2:
        fail("usage: gym_worker.py ENV_ID [JSON_KWARGS]")
    env_id, _, query = sys.argv[1].partition("?")
    if ":" in env_id:
        fail(f"'{env_id}' has a module part ('MODULE:ENV'), which would make Gymnasium import MODULE; "
             "name the environment alone and list the module that registers it in POPS_GYM_MODULES")
    options = {}
    for pair in query.split("&") if query else []:
        key, equals, value = pair.partition("=")
        if not equals or key not in ("actions", "atari"):
            fail(f"unknown option '{pair}' in '{sys.argv[1]}': the options are actions=a,b,... and atari=0|1")
        options[key] = value
    if "actions" in options:
        try:
            [int(a) for a in options["actions"].split(",")]
        except ValueError:
            fail(f"actions={options['actions']} must be integers separated by commas, e.g. actions=1,2,3")
    if options.get("atari", "1") not in ("0", "1"):
        fail(f"atari={options['atari']} must be 0 or 1")
    kwargs = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    try:
        import numpy as np
        import gymnasium as gym
    except ImportError as error:
        fail(f"the Python packages are missing ({error}) in {sys.executable}; run `make deps-gym` in the pops checkout, or set POPS_PYTHON to a Python that has gymnasium")
    for name in [m.strip() for m in os.environ.get("POPS_GYM_MODULES", "").split(",") if m.strip()]:
        if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", name, re.ASCII):
            fail(f"POPS_GYM_MODULES has '{name}', which is not a module name (e.g. minigrid or my_package.envs)")
        try:
            importlib.import_module(name)
        except Exception as error:
            fail(f"POPS_GYM_MODULES: cannot import '{name}': {type(error).__name__}: {error}")
    if env_id.startswith("ALE/"):
        try:
            import ale_py
            gym.register_envs(ale_py)
        except ImportError:
            fail("ale-py is not installed; run `make deps-gym`")
    atari = env_id.startswith("ALE/") and options.get("atari", "1") != "0"
    if atari:
        kwargs = {"frameskip": 1, "repeat_action_probability": 0.0, **kwargs}
    try:
        env = gym.make(env_id, **kwargs)
        if atari:
            env = deepmind_wrappers(gym, np, env)
    except Exception as error:  # unknown id, missing extra, bad kwargs
        fail(f"gymnasium cannot make '{env_id}': {type(error).__name__}: {error}")
    if not isinstance(env.action_space, gym.spaces.Discrete):
        fail(f"'{env_id}' has action space {env.action_space}; pops supports Discrete only")
    space = env.observation_space
    if not isinstance(space, gym.spaces.Box) or space.dtype not in (np.float32, np.float64, np.uint8):
        fail(f"'{env_id}' has observation space {space}; pops supports Box of float32, float64 or uint8")
    dtype = np.uint8 if space.dtype == np.uint8 else np.float32
    spec = env.spec
    action_map = [int(a) for a in options["actions"].split(",")] if "actions" in options else None
    if action_map and not all(0 <= a < env.action_space.n for a in action_map):
        fail(f"actions={options['actions']} is outside the {env.action_space.n} actions of '{env_id}'")
    info = {
        "obs_shape": list(space.shape),
        "obs_dtype": "uint8" if dtype == np.uint8 else "float32",
        "actions": len(action_map) if action_map else int(env.action_space.n),
        "action_start": int(env.action_space.start),
        "max_episode_steps": spec.max_episode_steps if spec else None,
        "reward_threshold": spec.reward_threshold if spec else None,
    }
    data = json.dumps(info).encode("utf-8")
    out = sys.stdout.buffer
    out.write(b"POPS" + struct.pack("<II", VERSION, len(data)) + data)
    out.flush()
    start = info["action_start"]
    fd = out.fileno()

    def send(*parts):
        # One writev per reply, so pops wakes once per reply, not once per part.
        views = [memoryview(p).cast("B") for p in parts]
        total = sum(len(v) for v in views)
        while total:
            n = os.writev(fd, views)
            total -= n
            while views and n >= len(views[0]):
                n -= len(views[0])
                views.pop(0)
            if n:
                views[0] = views[0][n:]

    import select
    import time
    inp = sys.stdin.fileno()
    # Busy-wait up to this long for pops' next request before sleeping in the
    # kernel: on a VM a sleeping vCPU takes ~0.1 ms to wake (POPS_WORKER_SPIN_US).
    spin = float(os.environ.get("POPS_WORKER_SPIN_US", "500")) * 1e-6

    def read(n):
        data = b""
        while len(data) < n:
            if spin > 0:
                deadline = time.perf_counter() + spin
                while not select.select([inp], [], [], 0)[0] and time.perf_counter() < deadline:
                    os.sched_yield()  # other workers on this core go first
            chunk = os.read(inp, n - len(data))
            if not chunk:
                return data
            data += chunk
        return data

    while True:
        op = read(1)
        if op in (b"", b"Q"):
            break
        if op == b"R":
            has_seed, seed = struct.unpack("<BQ", read(9))
            obs, _ = env.reset(seed=int(seed) if has_seed else None)
            send(np.ascontiguousarray(obs, dtype=dtype))
        elif op == b"S":
            (action,) = struct.unpack("<q", read(8))
            obs, reward, terminated, truncated, _ = env.step(
                (action_map[action] if action_map else int(action)) + start)
            send(np.ascontiguousarray(obs, dtype=dtype),
                 struct.pack("<dBB", float(reward), bool(terminated), bool(truncated)))
        else:
            break
    env.close()


def deepmind_wrappers(gym, np, env):
    """The reference's Atari preprocessing, from Gymnasium's own wrappers."""
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation, TransformReward

    class FireReset(gym.Wrapper):
        def reset(self, **kwargs):
            obs, info = self.env.reset(**kwargs)
            obs, _, terminated, truncated, info = self.env.step(1)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
            return obs, info

    env = AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=84,
                             terminal_on_life_loss=True, grayscale_obs=True, scale_obs=False)
    if "FIRE" in env.unwrapped.get_action_meanings():
        env = FireReset(env)
    env = TransformReward(env, lambda r: float(np.sign(r)))
    return FrameStackObservation(env, 4)


if __name__ == "__main__":
    main()
