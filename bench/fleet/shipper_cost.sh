#!/usr/bin/env bash
# The ClickHouse sink's own CPU (issue 17; docs/benchmarks.md), without
# serving around it: ys_shipper_bench replays a bench/loggen log into a file
# at RATE lines/s while the real shipper follows it into a ClickHouse started
# here on loopback. Prints, per run, the shipper thread's CPU per 10k records
# and ClickHouse's CPU over the same run (the two halves of the sink's cost
# on a machine where both share the cores).
#
#   bench/fleet/shipper_cost.sh       (RUNS=3 RATE=20000 RECORDS=100000;
#                                      environment: bench/server/common.sh)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../server/common.sh"
source "$here/clickhouse.sh"
runs="${RUNS:-3}" rate="${RATE:-20000}" records="${RECORDS:-100000}"
shipper_bench="${SHIPPER_BENCH:-$build/bench/fleet/ys_shipper_bench}"
loggen="${LOGGEN:-$build/bench/loggen/ys_loggen}"
trap stop_clickhouse EXIT
start_clickhouse "$out/ch_ship" $((port + 110)) $((port + 111))
sink="clickhouse://127.0.0.1:$ch_http/shipbench"
"$yoloscope" db init "$sink" >/dev/null
src="$out/shipper_src.jsonl"
[[ -f "$src" ]] || "$loggen" --requests "$records" --seed 17 --out "$src" >/dev/null
machine_note
for i in $(seq 1 "$runs"); do
  c0=$(clickhouse_cpu_s)
  line=$("$shipper_bench" --uri "$sink" --log "$src" --rate "$rate" --replica "run$i" --out "$out")
  sleep 2  # ClickHouse's merges of the new parts
  c1=$(clickhouse_cpu_s)
  n=$(echo "$line" | awk '{print $1}')
  echo "run $i: $line; ClickHouse CPU $(awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN {printf "%.3f s = %.1f ms per 10k records", b - a, 1e7 * (b - a) / n}')"
done
rows=$(curl -s --data-binary "SELECT count() FROM shipbench.requests" "http://127.0.0.1:$ch_http/")
echo "ClickHouse request rows: $rows (runs x requests of the log)"
machine_note
