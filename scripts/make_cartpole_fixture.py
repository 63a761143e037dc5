#!/usr/bin/env python3
"""Records CartPole reference trajectories with Gymnasium itself and writes
Tests/PoPSEnvironmentsTests/Fixtures/cartpole_trajectories.json.

Each trajectory starts from a state Gymnasium's own seeded reset produced and
follows a given action sequence (random, alternating, or a simple balancing
controller that makes episodes run into the time limit) until the episode ends.
For every step it stores the float64 state, the float32 observation, the
reward and the terminated / truncated flags. The Swift tests replay the same
start states and actions and must match every value to 1e-6 and every end step
exactly; they need no Python.

Usage: python3 -m venv .venv-fixtures && .venv-fixtures/bin/pip install gymnasium numpy
       .venv-fixtures/bin/python scripts/make_cartpole_fixture.py
"""
import json
import os

import gymnasium as gym
import numpy as np


def record(env_id, seed, policy_name):
    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    start = [float(v) for v in env.unwrapped.state]
    rng = np.random.default_rng(seed + 1000)
    steps = []
    t = 0
    while True:
        x, x_dot, theta, theta_dot = env.unwrapped.state
        if policy_name == "random":
            action = int(rng.integers(2))
        elif policy_name == "alternate":
            action = t % 2
        else:  # a PD controller that keeps the pole up for hundreds of steps
            action = 1 if theta + 0.3 * theta_dot + 0.01 * x + 0.05 * x_dot > 0 else 0
        obs, reward, terminated, truncated, _ = env.step(action)
        steps.append({
            "action": action,
            "state": [float(v) for v in env.unwrapped.state],
            "observation": [float(v) for v in obs],
            "reward": float(reward),
            "terminated": bool(terminated),
            "truncated": bool(truncated),
        })
        t += 1
        if terminated or truncated:
            break
    env.close()
    return {"env": env_id, "seed": seed, "policy": policy_name, "start": start, "steps": steps}


trajectories = []
for env_id in ["CartPole-v0", "CartPole-v1"]:
    for seed in range(6):
        for policy in ["random", "alternate", "controller"]:
            trajectories.append(record(env_id, seed, policy))

out = os.path.join(os.path.dirname(__file__), "..", "Tests", "PoPSEnvironmentsTests", "Fixtures",
                   "cartpole_trajectories.json")
with open(out, "w") as f:
    json.dump({"gymnasium": gym.__version__, "trajectories": trajectories}, f, separators=(",", ":"))
lengths = [len(t["steps"]) for t in trajectories]
print("wrote", os.path.normpath(out), len(trajectories), "trajectories, lengths", min(lengths), "-", max(lengths))
print("truncated:", sum(t["steps"][-1]["truncated"] for t in trajectories))
