# Shared helpers of the bench/server scripts (sourced, not run).
#
# Environment: YOLOSCOPE_BUILD_DIR (default build/), YOLOSCOPE_BIN (default
# $YOLOSCOPE_BUILD_DIR/apps/yoloscope/yoloscope), MODELS_DIR (default
# $YOLOSCOPE_BUILD_DIR/models), BENCH_OUT (outputs, default
# /tmp/ys_server_bench), PORT (first port to use, default 18180).

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${YOLOSCOPE_BUILD_DIR:-$root/build}"
yoloscope="${YOLOSCOPE_BIN:-$build/apps/yoloscope/yoloscope}"
models="${MODELS_DIR:-$build/models}"
out="${BENCH_OUT:-/tmp/ys_server_bench}"
port="${PORT:-18180}"
mkdir -p "$out"

server_pid=""

machine_note() {
  echo "machine: $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)," \
       "load average $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at $(date -u +%H:%M:%SZ)"
}

# start_server NAME ARGS...: `yoloscope serve --port $port ARGS` in the
# background (stderr to $out/NAME.server.log); waits until ready. Returns 1
# when the server exits or is not ready within 120 s.
start_server() {
  local name="$1"
  shift
  "$yoloscope" serve --port "$port" --grpc-port "${GRPC_PORT:-0}" "$@" 2>"$out/$name.server.log" &
  server_pid=$!
  for _ in $(seq 1 1200); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      wait "$server_pid" 2>/dev/null || true
      server_pid=""
      return 1
    fi
    if curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  stop_server
  return 1
}

stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap stop_server EXIT

# server_cpu_s: CPU seconds (user + sys) the running server has used so far.
server_cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$server_pid/stat"
}
# server_completed: requests the running server has completed (/v1/stats).
server_completed() { curl -s "http://127.0.0.1:$port/v1/stats" | jq -r .completed; }

# wrk_rps FILE / wrk_p50 FILE: numbers from `wrk --latency` output (p50 in ms).
wrk_rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
wrk_p50() {
  awk '$1 == "50%" {v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
       if (u == "us") v /= 1000; else if (u == "s") v *= 1000; print v}' "$1"
}
# bench_json FILE JQ: a number from a `yoloscope bench --json` file (level 0).
bench_json() { jq -r ".levels[0].$2" "$1"; }

# bench_run_one NAME LINES_FILE: loads the running server with `yoloscope bench`
# (keep-alive concurrency 64, the images of $out/tiny, 5 one-second windows
# after 1 s of warm-up), prints one line (req/s, server CPU per completed
# request, load average) and appends it to LINES_FILE.
bench_run_one() {
  local name="$1" lines="$2" cpu0 n0 cpu1 n1 rps
  cpu0=$(server_cpu_s)
  n0=$(server_completed)
  "${client:-$yoloscope}" bench --url "http://127.0.0.1:$port" --concurrency 64 --warmup-ms 1000 \
    --window-ms 1000 --max-windows 5 --json "$out/$name.json" --images "$out/tiny" \
    >"$out/$name.txt" 2>&1 || true
  cpu1=$(server_cpu_s)
  n1=$(server_completed)
  rps=$(jq -r '.levels[0].summary.throughput_rps' "$out/$name.json")
  awk -v a="$cpu0" -v b="$cpu1" -v m="$n0" -v n="$n1" -v r="$rps" -v name="$name" \
    -v l="$(cut -d' ' -f1 /proc/loadavg)" \
    'BEGIN {printf "%-14s %8.0f req/s %7.2f us CPU/request  load %s\n", name, r, 1e6 * (b - a) / (n - m), l}' |
    tee -a "$lines"
}
