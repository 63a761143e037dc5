#!/usr/bin/env python3
"""Records Gymnasium episodes directly (no pops) and writes
Tests/PoPSEnvironmentsTests/Fixtures/gym_bridge_reference.json. The Swift
test replays the same seeds and actions through the bridge (`gym:ID`) and
must see the same observations, rewards and flags.

Usage: make deps-gym && .venv-gym/bin/python scripts/make_gym_bridge_fixture.py
"""
import json
import os

import gymnasium as gym
import numpy as np

episodes = []
for env_id in ["CartPole-v1", "Acrobot-v1"]:
    for seed in range(3):
        env = gym.make(env_id)
        rng = np.random.default_rng(100 + seed)
        obs, _ = env.reset(seed=seed)
        record = {"env": env_id, "seed": seed, "first": obs.astype(np.float32).tolist(), "steps": []}
        for t in range(60):
            action = int(rng.integers(env.action_space.n))
            obs, reward, terminated, truncated, _ = env.step(action)
            record["steps"].append({"action": action, "observation": obs.astype(np.float32).tolist(),
                                    "reward": float(reward), "terminated": bool(terminated),
                                    "truncated": bool(truncated)})
            if terminated or truncated:
                break
        episodes.append(record)
        env.close()
out = os.path.join(os.path.dirname(__file__), "..", "Tests", "PoPSEnvironmentsTests", "Fixtures",
                   "gym_bridge_reference.json")
with open(out, "w") as f:
    json.dump({"gymnasium": gym.__version__, "episodes": episodes}, f)
print("wrote", os.path.normpath(out), len(episodes), "episodes")
