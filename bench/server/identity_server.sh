#!/usr/bin/env bash
# Issue 4's server-overhead numbers, with a backend that does no inference:
#  1. throughput at keep-alive concurrency 64, wrk and `yoloscope bench`,
#     POST /v1/detect with a tiny 8x8 JPEG (the whole pipeline: HTTP, decode,
#     letterbox, batcher, backend, postprocess, JSON), plus GET
#     /v2/health/live (the HTTP layer alone) for reference;
#  2. latency at concurrency 1: client p50 of the same request, the server's
#     own total and its decode stage, next to the HTTP-only round trip;
#  3. request log on vs off: throughput at concurrency 64 in alternating runs.
#
#   bench/server/identity_server.sh        (environment: common.sh; RUNS=3, DURATION_S=5)
#   ONLY=log bench/server/identity_server.sh    only part 3 (log on vs off)
#
# Backend (BACKEND=): `fast-sim` (default), a near-zero-cost SIMULATED backend
# (bench/server/fast-sim.yaml, 64x64 input), or `identity`, the test backend.
# The identity backend now starts, but serve cannot set its input size, so
# every request is letterboxed into a 640x640 tensor and batches of 8 copy
# ~39 MB: that measures memory bandwidth, not the server (a few hundred req/s
# at c=64 on the 2-core machine), hence fast-sim by default.
# Comparing two builds, or a machine shared with others: log_overhead_ab.sh
# and log_overhead_callgrind.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/common.sh"
duration="${DURATION_S:-5}"
runs="${RUNS:-3}"
url="http://127.0.0.1:$port"
mkdir -p "$out/tiny"
"$yoloscope" bench --image-size 8x8 --write-image "$out/tiny/tiny8.jpg"
export BODY_FILE="$out/tiny/tiny8.jpg"

common_flags=(--max-batch 8 --max-queue-delay-us 0)
backend_flags=(--backend sim --model "$here/fast-sim.yaml")
backend_label="fast-sim (simulated, ~1 us compute + timer slack per batch; identity stand-in)"
if [[ "${BACKEND:-fast-sim}" == identity ]]; then
  backend_flags=(--backend identity)
  backend_label="identity (test backend, 640x640 input)"
  if ! start_server probe "${backend_flags[@]}" "${common_flags[@]}" --no-log; then
    echo "NOTE: 'serve --backend identity' does not start: $(tail -1 "$out/probe.server.log")" >&2
    echo "NOTE: using the near-zero-cost simulated backend $here/fast-sim.yaml instead" >&2
    backend_flags=(--backend sim --model "$here/fast-sim.yaml")
    backend_label="fast-sim (simulated, ~1 us compute + timer slack per batch; identity stand-in)"
  else
    stop_server
  fi
fi

gen() {  # gen NAME CONCURRENCY [extra bench flags]: yoloscope bench -> $out/NAME.json
  local name="$1" c="$2"
  shift 2
  local cpu0 n0 cpu1 n1
  cpu0=$(server_cpu_s)
  n0=$(server_completed)
  "$yoloscope" bench --url "$url" --concurrency "$c" --warmup-ms 1000 --window-ms 1000 \
    --max-windows "$((duration > 3 ? duration : 3))" --json "$out/$name.json" "$@" \
    >"$out/$name.txt" 2>&1
  cpu1=$(server_cpu_s)
  n1=$(server_completed)
  # Server CPU time per completed pipeline request, microseconds (robust to
  # neighbours on a shared machine, unlike throughput).
  awk -v a="$cpu0" -v b="$cpu1" -v m="$n0" -v n="$n1" \
    'BEGIN {print (n > m) ? 1e6 * (b - a) / (n - m) : "n/a"}' >"$out/$name.cpu_us"
}

if [[ "${ONLY:-}" != log ]]; then
sim_batch_ms=0
if [[ "${backend_flags[1]}" == sim ]]; then
  # What the stand-in itself costs per batch (its simulated compute is a real
  # sleep): measured in-process, to take it out of the server-added latency.
  "$yoloscope" bench --engine --backend sim --model "$here/fast-sim.yaml" --batch 1,8 \
    --min-time-ms 1000 --save-curve "$out/fast-sim-curve.json" >"$out/fast-sim-engine.txt" 2>&1
  sim_batch_ms=$(jq -r '.curve[0].latency_ms' "$out/fast-sim-curve.json")
fi
machine_note
echo "backend: $backend_label"
start_server nolog "${backend_flags[@]}" "${common_flags[@]}" --no-log
wrk -t1 -c64 -d"${duration}s" --latency -s "$here/wrk_post.lua" "$url/v1/detect" >"$out/wrk_detect64.txt" 2>&1
gen gen_detect64 64 --images "$out/tiny"
wrk -t1 -c64 -d"${duration}s" --latency "$url/v2/health/live" >"$out/wrk_live64.txt" 2>&1
gen gen_live64 64 --method GET --endpoint /v2/health/live
wrk -t1 -c1 -d"${duration}s" --latency -s "$here/wrk_post.lua" "$url/v1/detect" >"$out/wrk_detect1.txt" 2>&1
gen gen_detect1 1 --images "$out/tiny"
gen gen_live1 1 --method GET --endpoint /v2/health/live
stop_server

echo
echo "1. throughput, keep-alive concurrency 64 (request log off)"
printf '  %-44s %10s %9s\n' "request / client" "req/s" "p50 ms"
printf '  %-44s %10.0f %9.3f\n' "POST /v1/detect 8x8 JPEG, wrk -t1" "$(wrk_rps "$out/wrk_detect64.txt")" "$(wrk_p50 "$out/wrk_detect64.txt")"
printf '  %-44s %10.0f %9.3f\n' "POST /v1/detect 8x8 JPEG, yoloscope bench" \
  "$(bench_json "$out/gen_detect64.json" summary.throughput_rps)" "$(bench_json "$out/gen_detect64.json" summary.latency_ms.p50)"
printf '  %-44s %10.0f %9.3f\n' "GET /v2/health/live, wrk -t1" "$(wrk_rps "$out/wrk_live64.txt")" "$(wrk_p50 "$out/wrk_live64.txt")"
printf '  %-44s %10.0f %9.3f\n' "GET /v2/health/live, yoloscope bench" \
  "$(bench_json "$out/gen_live64.json" summary.throughput_rps)" "$(bench_json "$out/gen_live64.json" summary.latency_ms.p50)"
echo "  batch sizes formed at c=64: $(jq -c '.levels[0].summary.server.batch_sizes' "$out/gen_detect64.json")"
echo
echo "2. latency at concurrency 1 (ms)"
printf '  %-58s %9.3f\n' "client p50, POST /v1/detect 8x8 JPEG (wrk -c1)" "$(wrk_p50 "$out/wrk_detect1.txt")"
printf '  %-58s %9.3f\n' "client p50, POST /v1/detect 8x8 JPEG (yoloscope bench)" "$(bench_json "$out/gen_detect1.json" summary.latency_ms.p50)"
printf '  %-58s %9.3f\n' "client p50, GET /v2/health/live (HTTP round trip only)" "$(bench_json "$out/gen_live1.json" summary.latency_ms.p50)"
printf '  %-58s %9s %9s\n' "server timing (from the responses)" "p50" "mean"
for stage in total queue decode preprocess inference postprocess; do
  printf '  %-58s %9.4f %9.4f\n' "  $stage" "$(jq -r ".levels[0].summary.server.stages.$stage.p50_ms" "$out/gen_detect1.json")" \
    "$(jq -r ".levels[0].summary.server.stages.$stage.mean_ms" "$out/gen_detect1.json")"
done
printf '  %-58s %9.4f\n' "backend wall time per batch of 1, in-process p50" "$sim_batch_ms"
client_p50=$(bench_json "$out/gen_detect1.json" summary.latency_ms.p50)
decode_p50=$(jq -r '.levels[0].summary.server.stages.decode.p50_ms' "$out/gen_detect1.json")
awk -v c="$client_p50" -v s="$sim_batch_ms" -v d="$decode_p50" 'BEGIN {
  printf "  server-added latency p50 = client p50 - backend - decode = %.3f - %.3f - %.3f = %.3f ms\n", c, s, d, c - s - d }'
echo "  server CPU per request at c=1: $(cat "$out/gen_detect1.cpu_us") us; at c=64: $(cat "$out/gen_detect64.cpu_us") us"
fi  # ONLY != log

echo
machine_note
echo "backend: $backend_label"
echo "3. request log on vs off, concurrency 64, POST /v1/detect 8x8 JPEG ($runs alternating runs each)"
on=(); off=(); on_cpu=(); off_cpu=()
for i in $(seq 1 "$runs"); do
  start_server "log_on$i" "${backend_flags[@]}" "${common_flags[@]}" --log "$out/requests_on.jsonl"
  gen "gen_log_on$i" 64 --images "$out/tiny"
  stop_server
  echo "  (run $i: log on wrote $(cat "$out"/requests_on.jsonl* | wc -l) records, $(du -ch "$out"/requests_on.jsonl* | tail -1 | cut -f1))"
  rm -f "$out"/requests_on.jsonl*
  on+=("$(bench_json "$out/gen_log_on$i.json" summary.throughput_rps)")
  on_cpu+=("$(cat "$out/gen_log_on$i.cpu_us")")
  start_server "log_off$i" "${backend_flags[@]}" "${common_flags[@]}" --no-log
  gen "gen_log_off$i" 64 --images "$out/tiny"
  stop_server
  off+=("$(bench_json "$out/gen_log_off$i.json" summary.throughput_rps)")
  off_cpu+=("$(cat "$out/gen_log_off$i.cpu_us")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
m_on=$(median "${on[@]}")
m_off=$(median "${off[@]}")
echo "  log on : ${on[*]} req/s (median $m_on)"
echo "  log off: ${off[*]} req/s (median $m_off)"
awk -v a="$m_on" -v b="$m_off" 'BEGIN {printf "  throughput ratio on/off (medians): %.3f\n", a / b}'
c_on=$(median "${on_cpu[@]}")
c_off=$(median "${off_cpu[@]}")
echo "  server CPU per request, log on : ${on_cpu[*]} us (median $c_on)"
echo "  server CPU per request, log off: ${off_cpu[*]} us (median $c_off)"
awk -v a="$c_on" -v b="$c_off" 'BEGIN {printf "  CPU-bound throughput ratio on/off = CPU per request off/on: %.3f\n", b / a}'
machine_note
