#!/usr/bin/env bash
# Precision and recall of `yoloscope analyze` per finding kind on a freshly
# simulated corpus (bench/accuracy/simulate.py: an independent simulator of
# a GPU inference server; score.py: the comparison with the truth).
#
#   bench/accuracy/run_accuracy.sh [SEEDS] [SCALE] [FIRST_SEED]
#
# SEEDS per scenario (default 5), SCALE the run length factor (default 1:
# 2-5 minute logs), FIRST_SEED (default 1). Environment: YOLOSCOPE_BIN
# (default build/apps/yoloscope/yoloscope), ACCURACY_DIR (default a temp
# folder, removed afterwards), MARKDOWN=1 for the table of docs/diagnosis.md.
# Exit 1 when a kind is below 0.95 or a healthy control has a warning.
# ctest runs the reduced form (2 seeds at half length, analyzer_accuracy).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seeds="${1:-5}"
scale="${2:-1}"
first="${3:-1}"
bin="${YOLOSCOPE_BIN:-$root/build/apps/yoloscope/yoloscope}"
dir="${ACCURACY_DIR:-}"
if [ -z "$dir" ]; then
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
fi
rm -f "$dir"/*.jsonl "$dir"/truth.json
python3 "$here/simulate.py" --corpus "$dir" --seeds "$seeds" --scale "$scale" --first-seed "$first"
args=()
[ "${MARKDOWN:-0}" = 1 ] && args+=(--markdown)
python3 "$here/score.py" "$dir" --yoloscope "$bin" --jobs "$(nproc)" "${args[@]}"
