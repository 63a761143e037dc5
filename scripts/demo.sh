#!/usr/bin/env bash
# The main job behind `make demo`: the whole PoPS pipeline on CartPole-v0 with
# the built-in preset (trains a DQN teacher, then prunes, shrinks and distils
# it), then a check of the final model on 100 fresh episodes.
set -euo pipefail
out="${1:-runs/demo}"
pops=".build/release/pops"
"$pops" run --env CartPole-v0 --out "$out" --seed 0
echo
"$pops" evaluate "$out/final.safetensors" --episodes 100 --seed 2026
"$pops" inspect "$out/final.safetensors"
echo
echo "demo: open $out/report.html in a browser (results.json, results.csv and the plots are beside it)"
