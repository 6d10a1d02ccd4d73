#!/usr/bin/env bash
# Instructions per request with the request log on vs off, counted by
# valgrind's callgrind in the server (all threads, user space only): a
# measure that neighbours on a shared machine do not disturb, unlike
# throughput and CPU time. Per run: a fresh `serve` under callgrind
# (fast-sim stand-in, --max-batch 8 --max-queue-delay-us 0, no warm-up), a
# 1 s warm-up load, counters zeroed, 3 windows of 2 s of `yoloscope bench`
# at concurrency 16 (8x8 JPEG), counters dumped; Ir of that dump / requests
# completed meanwhile. Kernel work (write(2), futex wake-ups) is not counted:
# pair with log_overhead_ab.sh.
#
#   bench/server/log_overhead_callgrind.sh                 (RUNS=2: off, on, off, on)
#   BASE=/tmp/yoloscope-before bench/server/log_overhead_callgrind.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/common.sh"
runs="${RUNS:-2}"
url="http://127.0.0.1:$port"
mkdir -p "$out/tiny" "$out/callgrind"
[[ -f "$out/tiny/tiny8.jpg" ]] || "$yoloscope" bench --image-size 8x8 --write-image "$out/tiny/tiny8.jpg"
builds=("new:$yoloscope")
[[ -n "${BASE:-}" ]] && builds+=("base:$BASE")

one() {  # one LABEL BINARY on|off: prints "LABEL MODE requests Ir/request"
  local label="$1" bin="$2" mode="$3" flags vpid c0 c1 ir
  if [[ $mode == on ]]; then flags=(--log "$out/callgrind/requests.jsonl"); else flags=(--no-log); fi
  rm -f "$out"/callgrind/cg.*
  valgrind --tool=callgrind --callgrind-out-file="$out/callgrind/cg.%p" "$bin" serve --port "$port" --grpc-port -1 \
    --backend sim --model "$here/fast-sim.yaml" --max-batch 8 --max-queue-delay-us 0 --no-warmup \
    "${flags[@]}" >"$out/callgrind/serve.log" 2>&1 &
  vpid=$!
  server_pid=$vpid  # common.sh's EXIT trap stops it if this script fails
  for _ in $(seq 1 300); do curl -sf "$url/v2/health/ready" >/dev/null 2>&1 && break; sleep 1; done
  "$yoloscope" bench --url "$url" --concurrency 16 --warmup-ms 0 --window-ms 1000 --max-windows 1 \
    --images "$out/tiny" >/dev/null 2>&1 || true  # (exits non-zero when "not stable")
  c0=$(server_completed)
  callgrind_control -z "$vpid" >/dev/null 2>&1
  "$yoloscope" bench --url "$url" --concurrency 16 --warmup-ms 0 --window-ms 2000 --max-windows 3 \
    --images "$out/tiny" >"$out/callgrind/bench.txt" 2>&1 || true
  callgrind_control -d "$vpid" >/dev/null 2>&1
  c1=$(server_completed)
  stop_server
  ir=$(awk '/^summary:/ {print $2}' "$out/callgrind/cg.$vpid.1")
  awk -v l="$label" -v m="$mode" -v n="$((c1 - c0))" -v ir="$ir" \
    'BEGIN {printf "%-5s %-3s %6d requests %9.0f instructions/request\n", l, m, n, ir / n}' |
    tee -a "$out/callgrind/lines.txt"
  rm -f "$out"/callgrind/requests.jsonl*
}

machine_note
rm -f "$out/callgrind/lines.txt"
for i in $(seq 1 "$runs"); do
  for build in "${builds[@]}"; do
    for mode in off on; do one "${build%%:*}" "${build#*:}" "$mode"; done
  done
done
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
for build in "${builds[@]}"; do
  label="${build%%:*}"
  on=$(awk -v l="$label" '$1 == l && $2 == "on" {print $5}' "$out/callgrind/lines.txt" | median)
  off=$(awk -v l="$label" '$1 == l && $2 == "off" {print $5}' "$out/callgrind/lines.txt" | median)
  awk -v l="$label" -v a="$on" -v b="$off" 'BEGIN {
    printf "%s: instructions/request on %.0f off %.0f: the log adds %.0f (%.1f%%), off/on %.3f\n",
      l, a, b, a - b, 100 * (a - b) / b, b / a }'
done
