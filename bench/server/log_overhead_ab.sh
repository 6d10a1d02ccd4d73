#!/usr/bin/env bash
# Request log on vs off, interleaved, for one or two builds of yoloscope:
# round i runs NEW on, NEW off, [BASE on, BASE off], each against a fresh
# `serve` (fast-sim stand-in, --max-batch 8 --max-queue-delay-us 0) loaded by
# `yoloscope bench` at keep-alive concurrency 64 with an 8x8 JPEG. Prints one
# line per run (req/s, server CPU per completed request, load average) and the
# medians' on/off ratios per build. Interleaving keeps slow drifts of a shared
# machine out of the ratios; CPU per request is the steadier column.
#
#   bench/server/log_overhead_ab.sh                       (RUNS=3, environment: common.sh)
#   BASE=/tmp/yoloscope-before bench/server/log_overhead_ab.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/common.sh"
runs="${RUNS:-3}"
url="http://127.0.0.1:$port"
mkdir -p "$out/tiny"
[[ -f "$out/tiny/tiny8.jpg" ]] || "$yoloscope" bench --image-size 8x8 --write-image "$out/tiny/tiny8.jpg"
client="$yoloscope"
builds=("new:$yoloscope")
[[ -n "${BASE:-}" ]] && builds+=("base:$BASE")

run_one() { bench_run_one "$1" "$out/ab_lines.txt"; }

machine_note
rm -f "$out/ab_lines.txt"
for i in $(seq 1 "$runs"); do
  for build in "${builds[@]}"; do
    label="${build%%:*}"
    for mode in on off; do
      if [[ $mode == on ]]; then log_flags=(--log "$out/ab_requests.jsonl"); else log_flags=(--no-log); fi
      yoloscope="${build#*:}" start_server "$label-$mode$i" --backend sim --model "$here/fast-sim.yaml" \
        --max-batch 8 --max-queue-delay-us 0 "${log_flags[@]}"
      run_one "$label-$mode$i"
      stop_server
      rm -f "$out"/ab_requests.jsonl*
    done
  done
done
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
for build in "${builds[@]}"; do
  label="${build%%:*}"
  rps_on=$(awk -v p="^$label-on" '$1 ~ p {print $2}' "$out/ab_lines.txt" | median)
  rps_off=$(awk -v p="^$label-off" '$1 ~ p {print $2}' "$out/ab_lines.txt" | median)
  cpu_on=$(awk -v p="^$label-on" '$1 ~ p {print $4}' "$out/ab_lines.txt" | median)
  cpu_off=$(awk -v p="^$label-off" '$1 ~ p {print $4}' "$out/ab_lines.txt" | median)
  awk -v l="$label" -v a="$rps_on" -v b="$rps_off" -v c="$cpu_on" -v d="$cpu_off" 'BEGIN {
    printf "%s: median req/s on %.0f off %.0f -> %.3f; CPU/request on %.2f off %.2f us -> off/on %.3f\n",
      l, a, b, a / b, c, d, d / c }'
done
machine_note
