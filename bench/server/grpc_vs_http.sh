#!/usr/bin/env bash
# Issue 14: KServe v2 over gRPC vs over HTTP, one server, the same 8x8 JPEG,
# on the near-zero-cost SIMULATED backend (fast-sim.yaml: it measures the
# server around it, never a device). For concurrency 1 and 64, and each of
#   kserve        HTTP/1.1 keep-alive, binary-tensor extension
#   kserve-grpc   unary ModelInfer, raw_input_contents
#   grpc-stream   one ModelStreamInfer stream per concurrency slot
# it reports requests/s, client p50/p99, the server-added p50 (the server's
# own total_ms minus its simulated inference_ms, per request, from the
# request log, where every record says its `protocol`) and server CPU per
# request. Runs alternate protocols ROUNDS times (default 3) and report
# medians, so a neighbour's load hits all of them alike.
#
#   bench/server/grpc_vs_http.sh          (environment: common.sh; ROUNDS, DURATION_S=4)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/common.sh"
duration="${DURATION_S:-4}"
rounds="${ROUNDS:-3}"
grpc_port=$((port + 1))
mkdir -p "$out/tiny"
"$yoloscope" bench --image-size 8x8 --write-image "$out/tiny/tiny8.jpg"
rm -f "$out"/grpc_vs_http_c*.jsonl*
machine_note

run() {  # run NAME CONCURRENCY PROTOCOL-FLAGS...
  local name="$1" c="$2"
  shift 2
  local cpu0 n0 cpu1 n1
  cpu0=$(server_cpu_s)
  n0=$(server_completed)
  "$yoloscope" bench --concurrency "$c" --images "$out/tiny" --model-name "$model" \
    --warmup-ms 500 --window-ms 1000 --max-windows "$duration" --json "$out/$name.json" "$@" \
    >"$out/$name.txt" 2>&1
  cpu1=$(server_cpu_s)
  n1=$(server_completed)
  awk -v a="$cpu0" -v b="$cpu1" -v m="$n0" -v n="$n1" \
    'BEGIN {print (n > m) ? 1e6 * (b - a) / (n - m) : "nan"}' >"$out/$name.cpu_us"
}

protocols=(kserve kserve-grpc grpc-stream)
flags_of() {
  case "$1" in
    kserve) echo "--protocol kserve --url http://127.0.0.1:$port" ;;
    kserve-grpc) echo "--protocol kserve-grpc --url grpc://127.0.0.1:$grpc_port" ;;
    grpc-stream) echo "--protocol kserve-grpc --grpc-stream --url grpc://127.0.0.1:$grpc_port" ;;
  esac
}
# One server (and one request log) per concurrency, so that the log's
# server-added times belong to one concurrency.
for c in 1 64; do
  GRPC_PORT=$grpc_port start_server "grpc_vs_http_c$c" --backend sim --model "$here/fast-sim.yaml" \
    --max-batch 8 --max-queue-delay-us 0 --log "$out/grpc_vs_http_c$c.jsonl" --threads 1
  model=$(curl -s -X POST "http://127.0.0.1:$port/v2/repository/index" | jq -r '.[0].name')
  for r in $(seq 1 "$rounds"); do
    for p in "${protocols[@]}"; do
      # shellcheck disable=SC2046
      run "gvh_${p}_c${c}_r$r" "$c" $(flags_of "$p")
    done
  done
  stop_server
done

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# Server-added p50 per protocol from the log: total_ms - inference_ms of ok records.
server_added() {  # server_added PROTOCOL-FIELD CONCURRENCY
  jq -r --arg p "$1" 'select(.event == "request" and .protocol == $p and .status == "ok")
    | (.total_ms - (.inference_ms // 0))' "$out/grpc_vs_http_c$2.jsonl"* | sort -g |
    awk '{v[NR] = $1} END {if (NR) printf "%.3f", 1000 * v[int((NR + 1) / 2)]; else print "nan"}'
}
echo
echo "KServe v2: gRPC vs HTTP, fast-sim backend (SIMULATED), 8x8 JPEG, max batch 8, no batching delay"
echo "medians of $rounds alternating rounds of ${duration} x 1 s windows"
printf '  %-13s %4s %10s %10s %10s %14s\n' protocol c "req/s" "p50 ms" "p99 ms" "CPU us/req"
for c in 1 64; do
  for p in "${protocols[@]}"; do
    rps=(); p50=(); p99=(); cpu=()
    for r in $(seq 1 "$rounds"); do
      f="$out/gvh_${p}_c${c}_r$r"
      rps+=("$(jq -r '.levels[0].summary.throughput_rps' "$f.json")")
      p50+=("$(jq -r '.levels[0].summary.latency_ms.p50' "$f.json")")
      p99+=("$(jq -r '.levels[0].summary.latency_ms.p99' "$f.json")")
      cpu+=("$(cat "$f.cpu_us")")
    done
    printf '  %-13s %4s %10.0f %10.3f %10.3f %14.1f\n' "$p" "$c" "$(median "${rps[@]}")" \
      "$(median "${p50[@]}")" "$(median "${p99[@]}")" "$(median "${cpu[@]}")"
  done
done
echo "server-added p50 (server total_ms - inference_ms over the run's ok records), us:"
for c in 1 64; do
  echo "  c=$c: kserve_http $(server_added kserve_http "$c")   kserve_grpc (unary + stream) $(server_added kserve_grpc "$c")"
done
machine_note
