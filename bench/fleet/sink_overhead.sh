#!/usr/bin/env bash
# The ClickHouse sink's cost to serving (issue 17; docs/benchmarks.md):
# serve (fast-sim stand-in, --max-batch 8 --max-queue-delay-us 0) loaded by
# `yoloscope bench` at keep-alive concurrency 64, with the request log off,
# on (JSONL), and on with `--log-sink clickhouse://...` (a real
# clickhouse-server started here on loopback), interleaved RUNS times. Prints
# req/s and server CPU per request per run, the medians' ratios to log-off,
# and the rows ClickHouse received vs the requests served.
#
#   bench/fleet/sink_overhead.sh            (RUNS=3; environment: bench/server/common.sh)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../server/common.sh"
runs="${RUNS:-3}"
url="http://127.0.0.1:$port"
command -v clickhouse-server >/dev/null || { echo "needs clickhouse-server (apt-get install clickhouse-server)" >&2; exit 2; }
mkdir -p "$out/tiny" "$out/ch"
[[ -f "$out/tiny/tiny8.jpg" ]] || "$yoloscope" bench --image-size 8x8 --write-image "$out/tiny/tiny8.jpg"

# A ClickHouse of our own: config under $out/ch, loopback, ports beside $port.
ch_http=$((port + 100)) ch_tcp=$((port + 101))
rm -rf "$out/ch" && mkdir -p "$out/ch"/{data,tmp,flags,logs}
cat >"$out/ch/users.xml" <<XML
<?xml version="1.0"?><yandex><profiles><default></default></profiles><users><default><password></password>
<networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
<quotas><default></default></quotas></yandex>
XML
cat >"$out/ch/config.xml" <<XML
<?xml version="1.0"?><yandex><logger><level>warning</level><log>$out/ch/logs/server.log</log>
<errorlog>$out/ch/logs/err.log</errorlog><console>0</console></logger>
<listen_host>127.0.0.1</listen_host><http_port>$ch_http</http_port><tcp_port>$ch_tcp</tcp_port>
<path>$out/ch/data/</path><tmp_path>$out/ch/tmp/</tmp_path><flags_path>$out/ch/flags/</flags_path>
<users_config>$out/ch/users.xml</users_config><default_profile>default</default_profile>
<default_database>default</default_database><mark_cache_size>67108864</mark_cache_size></yandex>
XML
clickhouse-server --config-file="$out/ch/config.xml" >/dev/null 2>&1 &
ch_pid=$!
cleanup() { stop_server; kill "$ch_pid" 2>/dev/null || true; wait "$ch_pid" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$ch_http/?query=SELECT+1" >/dev/null && break; sleep 0.1; done
sink="clickhouse://127.0.0.1:$ch_http/bench"
"$yoloscope" db init "$sink" >/dev/null

run_one() { bench_run_one "$1" "$out/sink_lines.txt"; }

machine_note
rm -f "$out/sink_lines.txt"
served_ch=0
for i in $(seq 1 "$runs"); do
  for mode in off jsonl clickhouse; do
    case $mode in
      off) flags=(--no-log) ;;
      jsonl) flags=(--log "$out/sink_requests.jsonl") ;;
      clickhouse) flags=(--log "$out/sink_requests.jsonl" --log-sink "$sink" --replica "run$i") ;;
    esac
    start_server "$mode$i" --backend sim --model "$here/../server/fast-sim.yaml" \
      --max-batch 8 --max-queue-delay-us 0 "${flags[@]}"
    run_one "$mode$i"
    if [[ $mode == clickhouse ]]; then served_ch=$((served_ch + $(server_completed))); fi
    stop_server  # the sink ships what is left before exiting
    rm -f "$out"/sink_requests.jsonl*
  done
done
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
off=$(awk '$1 ~ /^off/ {print $2}' "$out/sink_lines.txt" | median)
for mode in jsonl clickhouse; do
  m=$(awk -v p="^$mode" '$1 ~ p {print $2}' "$out/sink_lines.txt" | median)
  awk -v l="$mode" -v a="$m" -v b="$off" 'BEGIN {printf "%s: median %.0f req/s vs log off %.0f -> %.3f\n", l, a, b, a / b}'
done
rows=$(curl -s --data-binary "SELECT count() FROM bench.requests" "http://127.0.0.1:$ch_http/")
echo "ClickHouse request rows: $rows; requests served by the clickhouse runs: $served_ch"
machine_note
