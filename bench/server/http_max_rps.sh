#!/usr/bin/env bash
# Load generator ceiling: requests/s that `yoloscope bench` sustains from ONE
# I/O thread against a trivial server (http_bench_server: a fixed small JSON
# answered inline on its I/O thread), next to wrk with one thread in the
# same run, both at keep-alive concurrency 64.
#
#   bench/server/http_max_rps.sh            (see common.sh for the environment)
#
# SERVER_THREADS: http_bench_server I/O threads (default 1, so that client and
# server get one core each on a 2-core machine). DURATION_S (default 5).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
duration="${DURATION_S:-5}"
hbs=""
for candidate in "$build/src/http/bench/http_bench_server" "$build/bench/http/http_bench_server"; do
  [[ -x "$candidate" ]] && hbs="$candidate" && break
done
[[ -n "$hbs" ]] || { echo "http_bench_server not built in $build" >&2; exit 1; }

machine_note
"$hbs" --port "$port" --threads "${SERVER_THREADS:-1}" >"$out/hbs.log" 2>&1 &
hbs_pid=$!
trap 'kill -TERM $hbs_pid 2>/dev/null; wait $hbs_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/v2/health/live" >/dev/null && break; sleep 0.1; done

url="http://127.0.0.1:$port"
windows=$((duration > 3 ? duration : 3))
# CPU seconds of the generator over its wall time: below 1.0 it had headroom.
TIMEFORMAT='%R %U %S'
{ time "$yoloscope" bench --url "$url" --method GET --endpoint /v2/health/live --concurrency 64 \
    --warmup-ms 1000 --window-ms 1000 --max-windows "$windows" --json "$out/hbs_bench.json" \
    >"$out/hbs_bench.txt" 2>&1; } 2>"$out/hbs_bench.time"
read -r wall user sys <"$out/hbs_bench.time"
wrk -t1 -c64 -d"${duration}s" --latency "$url/v2/health/live" >"$out/hbs_wrk.txt" 2>&1

printf '%-34s %12s %10s\n' "client (1 thread, c=64)" "req/s" "p50 ms"
printf '%-34s %12.0f %10.3f\n' "yoloscope bench" "$(bench_json "$out/hbs_bench.json" summary.throughput_rps)" \
  "$(bench_json "$out/hbs_bench.json" summary.latency_ms.p50)"
echo "yoloscope bench CPU: $(awk -v w="$wall" -v u="$user" -v s="$sys" 'BEGIN {printf "%.0f%% of one core (user %.2f s + sys %.2f s over %.2f s)", 100 * (u + s) / w, u, s, w}')"
printf '%-34s %12.0f %10.3f\n' "wrk -t1" "$(wrk_rps "$out/hbs_wrk.txt")" "$(wrk_p50 "$out/hbs_wrk.txt")"
machine_note
