#!/usr/bin/env bash
# The ClickHouse sink's cost to serving (issue 17; docs/benchmarks.md):
# serve (fast-sim stand-in, --max-batch 8 --max-queue-delay-us 0) loaded by
# `yoloscope bench` at keep-alive concurrency 64, with the request log off,
# on (JSONL), and on with `--log-sink clickhouse://...` (a real
# clickhouse-server started here on loopback), interleaved RUNS times. Prints
# req/s and server CPU per request per run, the medians' ratios to log-off,
# and the rows ClickHouse received vs the requests served; per run also
# ClickHouse's CPU and the shipper thread's CPU per request (the sink's
# cost split between ClickHouse and serve).
#
# Modes (MODES, default "off jsonl clickhouse clickhouse_n0"): clickhouse is
# the sink at serve's default log.sink_nice (10), clickhouse_n0 the same with
# --log-sink-nice 0 (the shipper at serve's priority). After each sink run
# the script waits until the shipper has caught up (spool 0) and prints how
# long that took: a nicer shipper moves its work past the load, not away.
# CH_NICE=N runs clickhouse-server that much nicer, a stand-in for a
# ClickHouse on another host (the usual deployment) on this shared machine.
#
#   bench/fleet/sink_overhead.sh            (RUNS=3; environment: bench/server/common.sh)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../server/common.sh"
runs="${RUNS:-3}"
url="http://127.0.0.1:$port"
source "$here/clickhouse.sh"
mkdir -p "$out/tiny"
[[ -f "$out/tiny/tiny8.jpg" ]] || "$yoloscope" bench --image-size 8x8 --write-image "$out/tiny/tiny8.jpg"

# A ClickHouse of our own: config under $out/ch, loopback, ports beside $port.
cleanup() { stop_server; stop_clickhouse; }
trap cleanup EXIT
start_clickhouse "$out/ch" $((port + 100)) $((port + 101))
sink="clickhouse://127.0.0.1:$ch_http/bench"
"$yoloscope" db init "$sink" >/dev/null

run_one() { bench_run_one "$1" "$out/sink_lines.txt"; }

machine_note
rm -f "$out/sink_lines.txt" "$out/sink_cpu.txt"
served_ch=0
modes=(${MODES:-off jsonl clickhouse clickhouse_n0})
spool_bytes() { curl -s "$url/metrics" | awk '$1 == "yoloscope_clickhouse_spool_bytes" {print $2}'; }
for i in $(seq 1 "$runs"); do
  for mode in "${modes[@]}"; do
    case $mode in
      off) flags=(--no-log) ;;
      jsonl) flags=(--log "$out/sink_requests.jsonl") ;;
      clickhouse) flags=(--log "$out/sink_requests.jsonl" --log-sink "$sink" --replica "run$i") ;;
      clickhouse_n0)
        flags=(--log "$out/sink_requests.jsonl" --log-sink "$sink" --replica "run${i}n0"
          --log-sink-nice 0) ;;
      *) echo "unknown mode $mode" >&2; exit 2 ;;
    esac
    start_server "$mode$i" --backend sim --model "$here/../server/fast-sim.yaml" \
      --max-batch 8 --max-queue-delay-us 0 "${flags[@]}"
    ch0=$(clickhouse_cpu_s) n0=$(server_completed)
    run_one "$mode$i"
    n1=$(server_completed)
    catchup=""
    if [[ $mode == clickhouse* ]]; then
      # Until the shipper has caught up (at most 120 s): the spool's end.
      t0=$(date +%s.%N)
      for _ in $(seq 1 1200); do
        [[ "$(spool_bytes)" == 0 ]] && break
        sleep 0.1
      done
      catchup=$(awk -v a="$t0" -v b="$(date +%s.%N)" -v s="$(spool_bytes)" \
        'BEGIN {printf "caught up %.1f s after the load (spool %s bytes)", b - a, s}')
    fi
    ship=$(curl -s "$url/metrics" | awk '$1 == "yoloscope_clickhouse_shipper_cpu_seconds" {print $2}')
    if [[ $mode == clickhouse* ]]; then served_ch=$((served_ch + n1)); fi
    stop_server  # the sink ships what is left before exiting
    # ClickHouse's own CPU over the run and the drain, and the shipper
    # thread's (part of serve's), per request served in the run.
    awk -v a="$ch0" -v b="$(clickhouse_cpu_s)" -v m="$n0" -v n="$n1" -v s="${ship:-0}" \
      -v name="$mode$i" -v c="$catchup" 'BEGIN {printf "%-14s ClickHouse %6.2f us CPU/request, shipper thread %6.2f us CPU/request (whole run) %s\n", name, 1e6 * (b - a) / (n - m), 1e6 * s / n, c}' |
      tee -a "$out/sink_cpu.txt"
    rm -f "$out"/sink_requests.jsonl*
  done
done
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
off=$(awk '$1 ~ /^off[0-9]+$/ {print $2}' "$out/sink_lines.txt" | median)
for mode in "${modes[@]}"; do
  [[ $mode == off ]] && continue
  m=$(awk -v p="^${mode}[0-9]+\$" '$1 ~ p {print $2}' "$out/sink_lines.txt" | median)
  awk -v l="$mode" -v a="$m" -v b="$off" 'BEGIN {printf "%s: median %.0f req/s vs log off %.0f -> %.3f\n", l, a, b, a / b}'
done
rows=$(curl -s --data-binary "SELECT count() FROM bench.requests" "http://127.0.0.1:$ch_http/")
echo "ClickHouse request rows: $rows; requests served by the clickhouse runs: $served_ch"
machine_note
