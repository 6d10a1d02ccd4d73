#!/usr/bin/env bash
# Issue 4: served throughput with a real CPU backend against the backend's own
# best in-process throughput, measured in the same run:
#  1. `bench --engine` on the model (batch 1,2,4,8): best images/s and its batch;
#  2. `serve` with max_batch_size = that batch, loaded closed loop with real
#     photos (one image per request) at concurrency CONCURRENCY: requests/s
#     and the batch sizes the batcher formed (from the responses and /v1/stats);
#  3. `bench --engine` again (the machine is shared: the two engine numbers
#     show how much it drifted during the run).
# Ratio = served / mean of the two engine bests.
#
#   bench/server/cpu_backend.sh           (environment: common.sh)
#
# MODEL (default $MODELS_DIR/yolov8n_320.torchscript), CONCURRENCY (default 16),
# DELAY_US (batcher max_queue_delay_us, default 2000), THREADS (intra-op threads
# of the engine and of the served instance, default 1: see engine_profiles.sh;
# 0 = all cores), SERVE_FLAGS (extra serve flags), IMAGES (default the darknet photos).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
model="${MODEL:-$models/yolov8n_320.torchscript}"
images="${IMAGES:-/usr/share/darknet/data}"
concurrency="${CONCURRENCY:-16}"
threads="${THREADS:-1}"
[[ -f "$model" ]] || { echo "model not found: $model" >&2; exit 1; }

engine() {  # engine NAME: best images/s and its batch size -> "$ips $batch"
  "$yoloscope" bench --engine --model "$model" --batch 1,2,4,8 --threads "$threads" \
    --min-time-ms "${MIN_TIME_MS:-3000}" --save-curve "$out/$1.json" >"$out/$1.txt" 2>&1
  jq -r '.curve | max_by(.throughput_ips) | "\(.throughput_ips) \(.batch_size)"' "$out/$1.json"
}

machine_note
echo "model: $model, intra-op threads: $threads"
read -r ips1 best_b < <(engine cpu_engine_before)
echo "engine (in-process) before: best $ips1 images/s at batch $best_b"
start_server cpu --model "$model" --threads "$threads" --max-batch "$best_b" \
  --max-queue-delay-us "${DELAY_US:-2000}" --log "$out/cpu_requests.jsonl" ${SERVE_FLAGS:-}
"$yoloscope" bench --url "http://127.0.0.1:$port" --concurrency "$concurrency" --images "$images" \
  --warmup-ms 3000 --window-ms 3000 --max-windows 6 --json "$out/cpu_served.json" >"$out/cpu_served.txt" 2>&1
curl -s "http://127.0.0.1:$port/v1/stats" >"$out/cpu_stats.json"
stop_server
rm -f "$out"/cpu_requests.jsonl*
read -r ips2 _ < <(engine cpu_engine_after)
echo "engine (in-process) after : best $ips2 images/s"
served=$(bench_json "$out/cpu_served.json" summary.throughput_rps)
cat "$out/cpu_served.txt" | sed 's/^/  /'
echo "batches executed (server /v1/stats): $(jq -c '[.batch_stats[] | {(.batch_size | tostring): .count}] | add' "$out/cpu_stats.json")"
awk -v s="$served" -v a="$ips1" -v b="$ips2" 'BEGIN {
  printf "served %.2f images/s vs engine best %.2f / %.2f (mean %.2f): ratio %.3f\n", s, a, b, (a + b) / 2, s / ((a + b) / 2) }'
machine_note
