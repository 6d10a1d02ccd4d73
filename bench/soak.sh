#!/usr/bin/env bash
# Soak test of `yoloscope serve` (issue 15; results in docs/reliability.md).
#
#   bench/soak.sh [--minutes 30] [--load-pct 80] [--binary PATH] [--out DIR]
#                 [--port PORT] [--warmup-s S] [--rotate-s S]
#
# 1. Serves bench/soak-sim.yaml (a deliberately slow simulated device) once
#    without a log and measures its capacity with `yoloscope bench` (closed
#    loop, 16 connections, until 3 windows agree).
# 2. Serves it again with a request log and drives it for --minutes with
#    good detections at --load-pct of that capacity (open loop,
#    bench/soak_load.py); on top of them, in fixed proportions of all
#    requests, 5% health checks and 15% bad inputs
#    (garbage bytes, truncated JPEG, empty body, GIF, bad query / header
#    values, wrong Content-Type, multipart without an image, malformed
#    KServe JSON, unknown route), each with its own X-Request-Id and the
#    status it must get; the request log is rotated the logrotate way
#    (rename + SIGHUP) every --rotate-s seconds.
# 3. After --warmup-s it checks: RSS growth < 5%, open fds flat, 0 unexpected
#    statuses (so 0 5xx), request records == responses by id over all rotated
#    files, no torn line. SIGTERM ends the server.
#
# Writes DIR/summary.json (and serve's stderr, the capacity probe and the
# log files) and exits 0 when every check passes. `--minutes 3
# --warmup-s 60` is the short mode. Run it niced on a shared machine:
# `nice -n 10 bench/soak.sh --minutes 3`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
minutes=30
load_pct=80
binary="${YOLOSCOPE_BUILD_DIR:-$here/build}/apps/yoloscope/yoloscope"
out=""
port=0
warmup_s=""
rotate_s=60
while (($#)); do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --load-pct) load_pct="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --warmup-s) warmup_s="$2"; shift 2 ;;
    --rotate-s) rotate_s="$2"; shift 2 ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
# Warm-up: 1 minute, or a tenth of a long run (3 minutes for 30).
if [ -z "$warmup_s" ]; then
  warmup_s=$(python3 -c "print(max(60, int($minutes * 6)))")
fi
[ -x "$binary" ] || { echo "soak.sh: no yoloscope binary at $binary (--binary)" >&2; exit 2; }
out="${out:-$(mktemp -d /tmp/yoloscope-soak.XXXXXX)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
log() { printf '\033[1m[soak]\033[0m %s\n' "$*" >&2; }

serve_pid=""
cleanup() { [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true; }
trap cleanup EXIT

# Starts serve with the extra arguments; sets serve_pid and serve_port. The
# load is HTTP only: no gRPC listener (its fixed port 8001 could be taken).
start_serve() {
  local stderr="$1"
  shift
  "$binary" serve --model "$here/bench/soak-sim.yaml" --host 127.0.0.1 --port "$port" \
    --instances 1 --max-batch 4 --no-warmup --grpc-port -1 "$@" 2>"$stderr" &
  serve_pid=$!
  for _ in $(seq 100); do
    serve_port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$stderr")
    [ -n "$serve_port" ] && return 0
    kill -0 "$serve_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "soak.sh: serve did not start:" >&2
  cat "$stderr" >&2
  exit 1
}

stop_serve() {
  kill -TERM "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=""
}

"$binary" bench --write-image "$out/image.jpg" --image-size 96x64 >/dev/null

log "capacity probe (no request log)"
start_serve "$out/probe-serve.err" --no-log
"$binary" bench --url "http://127.0.0.1:$serve_port" --images "$out" --concurrency 16 \
  --warmup-ms 2000 --window-ms 3000 --max-windows 5 --json "$out/capacity.json" \
  >"$out/capacity.txt" 2>&1
stop_serve
capacity=$(python3 -c "
import json; print(json.load(open('$out/capacity.json'))['levels'][0]['summary']['throughput_rps'])")
rate=$(python3 -c "print(round($capacity * $load_pct / 100, 1))")
log "capacity $capacity req/s; soak with detections at $load_pct% = $rate req/s (+ bad inputs) for $minutes min (warm-up ${warmup_s} s, rotation every ${rotate_s} s)"

start_serve "$out/serve.err" --log "$out/requests.jsonl"
rc=0
python3 "$here/bench/soak_load.py" --port "$serve_port" --pid "$serve_pid" \
  --log "$out/requests.jsonl" --image "$out/image.jpg" --model-name soak-sim --rate "$rate" --minutes "$minutes" \
  --warmup-s "$warmup_s" --rotate-s "$rotate_s" >"$out/summary.json" || rc=$?
wait "$serve_pid" 2>/dev/null || true  # soak_load.py sent SIGTERM.
serve_pid=""
python3 - "$out/summary.json" "$capacity" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
s["capacity_rps"] = float(sys.argv[2])
json.dump(s, open(sys.argv[1], "w"), indent=1)
EOF
cat "$out/summary.json"
log "results in $out ($( ((rc == 0)) && echo PASS || echo FAIL))"
exit $rc
