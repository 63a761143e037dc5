#!/usr/bin/env bash
# The main job behind `make demo`: trains a CartPole-v0 teacher with the
# default recipe, evaluates it on 100 fresh episodes and shows its layers.
set -euo pipefail
out="${1:-runs/demo}"
pops=".build/release/pops"
"$pops" train --env CartPole-v0 --out "$out/teacher" --seed 0
echo
"$pops" evaluate "$out/teacher/best.safetensors" --episodes 100 --seed 777
echo
"$pops" inspect "$out/teacher/best.safetensors"
echo
echo "demo: teacher model and training record in $out/teacher"
