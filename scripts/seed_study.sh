#!/usr/bin/env bash
# Runs `pops run` on several seeds of one environment and writes the table of
# results (final network, weights, % of the teacher, score over 100 fresh
# episodes, status, wall time) as Markdown to stdout. Runs that exist are reused
# (pops resumes or just rewrites the report). Needs python3 for the JSON.
# Usage: scripts/seed_study.sh ENV OUT_DIR SEED... > table.md
set -euo pipefail
env=$1 out=$2
shift 2
pops=${POPS:-.build/release/pops}
echo "| seed | teacher | final network | non-zero weights | % of teacher | score, 100 fresh episodes (seed 2026) | status | stop reason | wall time |"
echo "|---|---|---|---|---|---|---|---|---|"
for seed in "$@"; do
  dir="$out/$env-s$seed"
  "$pops" run --env "$env" --seed "$seed" --out "$dir" > "$dir.log" 2>&1 || true
  score=$("$pops" evaluate "$dir/final.safetensors" --episodes 100 --seed 2026 --json 2>/dev/null || echo '{}')
  python3 - "$dir/results.json" "$seed" "$score" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); seed = sys.argv[2]; s = json.loads(sys.argv[3] or "{}")
t, f = r["teacher"], r["final"]
print(f"| {seed} | {t['architecture']} ({t['weights']:,}), {t['score_mean']:.1f} | {f['architecture']} | "
      f"{sum(f['non_zero_per_layer'])} | {f['size_percent']:.3f}% | "
      f"{s.get('mean', float('nan')):.2f} ± {s.get('std', float('nan')):.2f} | {r['status']} | {r.get('stop_reason', '')} | "
      f"{r['wall_seconds']:.0f} s |")  # wall_seconds includes training the teacher
PY
done
