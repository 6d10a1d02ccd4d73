#!/usr/bin/env bash
# ClickHouse lost for a minute under load (issue 17, "Done when"): serve
# (fast simulated backend) with `--log-sink clickhouse://...` takes requests
# at about RATE/s, each with its own X-Request-Id; ClickHouse is killed
# (SIGKILL) OUTAGE_S seconds (default 60) into the run and started again on
# its data; the load goes on for a while after, stops, the sink catches up,
# serve stops (SIGTERM). Then every request id sent must be in the log and
# in ClickHouse exactly once. Prints the counts, the sink's failures and the
# largest spool seen, and exits 1 on any loss or duplicate.
#
#   bench/fleet/outage.sh       (OUTAGE_S=60 RATE=50; environment: bench/server/common.sh)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../server/common.sh"
source "$here/clickhouse.sh"
outage_s="${OUTAGE_S:-60}"
rate="${RATE:-50}"
url="http://127.0.0.1:$port"
cleanup() { [[ -n "${load_pid:-}" ]] && kill "$load_pid" 2>/dev/null; stop_server; stop_clickhouse; }
trap cleanup EXIT
mkdir -p "$out/tiny"
[[ -f "$out/tiny/tiny8.jpg" ]] || "$yoloscope" bench --image-size 8x8 --write-image "$out/tiny/tiny8.jpg"

start_clickhouse "$out/ch_outage" $((port + 110)) $((port + 111))
sink="clickhouse://127.0.0.1:$ch_http/outage"
"$yoloscope" db init "$sink" >/dev/null
rm -f "$out"/outage_requests.jsonl*
start_server outage --backend sim --model "$here/../server/fast-sim.yaml" \
  --log "$out/outage_requests.jsonl" --log-sink "$sink" --replica outage
machine_note

metric() { curl -s "$url/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
# The load: one request every 1/RATE s, ids out-1, out-2, ...; the ids
# answered 200 are written to sent.txt.
: >"$out/outage_sent.txt"
rm -f "$out/outage_stop"
load() {
  local i=0
  while [[ ! -f "$out/outage_stop" ]]; do
    i=$((i + 1))
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Request-Id: out-$i" \
      -H 'Content-Type: image/jpeg' --data-binary @"$out/tiny/tiny8.jpg" "$url/v1/detect" || true)
    echo "out-$i $code" >>"$out/outage_sent.txt"
    sleep "$(awk -v r="$rate" 'BEGIN {print 1 / r}')"
  done
}
load &
load_pid=$!
sleep 10
echo "$(date -u +%H:%M:%SZ) ClickHouse killed (SIGKILL) for ${outage_s} s"
kill -9 "$ch_pid"
wait "$ch_pid" 2>/dev/null || true
max_spool=0
t_end=$((SECONDS + outage_s))
while ((SECONDS < t_end)); do
  s=$(metric yoloscope_clickhouse_spool_bytes)
  max_spool=$(awk -v a="$max_spool" -v b="${s:-0}" 'BEGIN {print (b > a) ? b : a}')
  sleep 1
done
echo "$(date -u +%H:%M:%SZ) healthy during the outage: $(metric yoloscope_clickhouse_healthy)," \
  "spool up to $max_spool bytes, insert failures $(metric yoloscope_clickhouse_insert_failures_total)"
restart_clickhouse "$out/ch_outage"
echo "$(date -u +%H:%M:%SZ) ClickHouse back"
t0=$SECONDS
while [[ "$(metric yoloscope_clickhouse_spool_bytes)" != 0 ]] && ((SECONDS - t0 < 60)); do sleep 0.2; done
echo "$(date -u +%H:%M:%SZ) back-filled (spool 0) $((SECONDS - t0)) s after ClickHouse came back," \
  "under the same load"
sleep 10
touch "$out/outage_stop"  # the load finishes its request in flight and stops
wait "$load_pid" 2>/dev/null || true
load_pid=""
t0=$SECONDS
while [[ "$(metric yoloscope_clickhouse_spool_bytes)" != 0 ]] && ((SECONDS - t0 < 120)); do sleep 0.5; done
echo "caught up $((SECONDS - t0)) s after the load; healthy $(metric yoloscope_clickhouse_healthy)"
stop_server

sent=$(wc -l <"$out/outage_sent.txt")
ok=$(awk '$2 == 200' "$out/outage_sent.txt" | wc -l)
logged=$(grep -o '"request_id":"out-[0-9]*"' "$out"/outage_requests.jsonl* | sort -u | wc -l)
q() { curl -s --data-binary "$1" "http://127.0.0.1:$ch_http/"; }
rows=$(q "SELECT count() FROM outage.requests WHERE request_id LIKE 'out-%'")
distinct=$(q "SELECT uniqExact(request_id) FROM outage.requests WHERE request_id LIKE 'out-%'")
dups=$(q "SELECT count() FROM (SELECT request_id FROM outage.requests GROUP BY request_id HAVING count() > 1)")
echo "requests sent $sent (answered 200: $ok); ids in the log $logged; ClickHouse rows $rows," \
  "distinct ids $distinct, ids more than once $dups"
machine_note
if [[ "$rows" == "$sent" && "$distinct" == "$sent" && "$logged" == "$sent" && "$dups" == 0 ]]; then
  echo "PASS: no record lost, none twice"
else
  echo "FAIL"
  exit 1
fi
