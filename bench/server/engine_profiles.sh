#!/usr/bin/env bash
# Engine profiles (`yoloscope bench --engine`) of the generated models on the
# CPU backends: batch-latency curve, per-image cost, throughput and peak RSS
# for batch sizes 1, 2, 4, 8; each curve saved as CSV next to the output.
#
#   bench/server/engine_profiles.sh       (environment: common.sh)
#
# MODEL_NAMES (default "yolov8tiny_320 yolov8n_320 yolov8n_640"; missing ones
# are skipped), BACKENDS (default "torch opencv"), BATCHES (default 1,2,4,8),
# MIN_TIME_MS per batch size (default 2000), THREADS (intra-op threads, default
# 1: on a shared 2-core machine two OpenMP threads collapse as soon as a
# neighbour takes a core, e.g. yolov8n_320 batch 1 went from 55 ms with 1
# thread to 523 ms with 2 at load average 7; THREADS=0 means all cores).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
names="${MODEL_NAMES:-yolov8tiny_320 yolov8n_320 yolov8n_640}"
backends="${BACKENDS:-torch opencv}"
batches="${BATCHES:-1,2,4,8}"

machine_note
echo "intra-op threads: ${THREADS:-1}"
printf '%-16s %-7s %6s %9s %9s %10s %9s %9s\n' model backend batch "p50 ms" "p99 ms" "ms/image" "images/s" "peak MiB"
for name in $names; do
  for backend in $backends; do
    ext=torchscript
    [[ "$backend" == opencv ]] && ext=onnx
    model="$models/$name.$ext"
    if [[ ! -f "$model" ]]; then
      echo "($name.$ext not in $models: skipped)"
      continue
    fi
    csv="$out/engine_${name}_${backend}.csv"
    "$yoloscope" bench --engine --model "$model" --backend "$backend" --batch "$batches" \
      --threads "${THREADS:-1}" --min-time-ms "${MIN_TIME_MS:-2000}" --save-curve "$csv" \
      >"$out/engine_${name}_${backend}.txt" 2>&1 || { echo "$name/$backend failed: see $out/engine_${name}_${backend}.txt"; continue; }
    grep -v '^#' "$csv" | tail -n +2 | while IFS=, read -r b p50 p99 mean per ips mem kind iters; do
      printf '%-16s %-7s %6s %9.2f %9.2f %10.2f %9.1f %9s\n' "$name" "$backend" "$b" "$p50" "$p99" "$per" "$ips" "$mem"
    done
    grep '^knee' "$out/engine_${name}_${backend}.txt" | sed "s/^/  $name $backend /"
  done
done
machine_note
