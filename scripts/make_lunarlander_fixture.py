#!/usr/bin/env python3
"""Records LunarLander reference data with Gymnasium and writes
Tests/PoPSEnvironmentsTests/Fixtures/lunarlander_reference.json:

1. heuristic_returns: the returns of Gymnasium's own heuristic controller on
   LunarLander-v3 (1000-step limit) for seeds 0..199. The Swift test compares
   the distribution of our heuristic's returns with these (two-sample
   Kolmogorov-Smirnov test).
2. trajectories: for a few seeds, every random draw Gymnasium's reset and
   steps make (terrain heights, initial push, engine dispersion per step),
   the actions taken and the first 20 observations. The Swift test replays the
   same draws and actions on our Box2D 2.4 build and compares observations.

The draws are reproduced with a generator seeded exactly as Gymnasium seeds
the environment's np_random (PCG64 from the seed), and the script checks
that the replay is consistent with the environment's own observations.

Usage: .venv-fixtures/bin/pip install gymnasium numpy box2d==2.3.10 pygame
       .venv-fixtures/bin/python scripts/make_lunarlander_fixture.py
"""
import json
import os

import gymnasium as gym
import numpy as np
from gymnasium.envs.box2d.lunar_lander import SCALE, VIEWPORT_H, heuristic

H = VIEWPORT_H / SCALE


def heuristic_return(seed):
    env = gym.make("LunarLander-v3")
    s, _ = env.reset(seed=seed)
    total = 0.0
    while True:
        s, r, terminated, truncated, _ = env.step(heuristic(env, s))
        total += r
        if terminated or truncated:
            break
    env.close()
    return total


def trajectory(seed, policy):
    env = gym.make("LunarLander-v3")
    draws = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    heights = draws.uniform(0, H / 2, size=(12,)).tolist()
    force = [float(draws.uniform(-1000, 1000)), float(draws.uniform(-1000, 1000))]
    dispersions = [[float(draws.uniform(-1.0, 1.0)) / SCALE for _ in range(2)]]  # reset's own step
    rng = np.random.default_rng(seed + 77)
    actions, observations = [], [obs.tolist()]
    for t in range(20):
        a = heuristic(env, obs) if policy == "heuristic" else int(rng.integers(4))
        dispersions.append([float(draws.uniform(-1.0, 1.0)) / SCALE for _ in range(2)])
        obs, r, terminated, truncated, _ = env.step(a)
        actions.append(int(a))
        observations.append(obs.tolist())
        if terminated or truncated:
            break
    # The replayed generator must be in step with the environment's own.
    assert env.unwrapped.np_random.uniform() == draws.uniform(), "draw replay out of step"
    env.close()
    return {"seed": seed, "policy": policy, "heights": heights, "force": force,
            "dispersions": dispersions, "actions": actions, "observations": observations}


returns = [heuristic_return(seed) for seed in range(200)]
trajectories = [trajectory(seed, p) for seed in range(5) for p in ["heuristic", "random"]]
out = os.path.join(os.path.dirname(__file__), "..", "Tests", "PoPSEnvironmentsTests", "Fixtures",
                   "lunarlander_reference.json")
with open(out, "w") as f:
    json.dump({"gymnasium": gym.__version__, "heuristic_returns": returns, "trajectories": trajectories}, f)
print("wrote", os.path.normpath(out))
print("heuristic mean %.2f std %.2f min %.1f" % (np.mean(returns), np.std(returns), np.min(returns)))
