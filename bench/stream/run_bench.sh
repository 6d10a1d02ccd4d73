#!/usr/bin/env bash
# Video streams into `serve` on the CPU backend (issue 19; docs/benchmarks.md,
# docs/streams.md). Cameras are real ffmpeg processes on loopback; the model
# is YOLOv8-n through ONNX Runtime; every number comes from serve's own
# request and `stream` records (bench/stream/summarize.py).
#
#   bench/stream/run_bench.sh [matrix] [decode] [soak]     (default: matrix decode)
#
#   matrix  1, 2, 4 and 8 cameras (MPEG-TS over UDP, H.264 640x480 at 25 fps,
#           every frame wanted) at 320 and 640: frames/s processed, end-to-end
#           latency p50/p99 (capture to result), drops, device busy fraction;
#           and the stream count at which the model becomes the bottleneck
#           (frames processed < 95% of frames read while the device is busy).
#   decode  software decode cost per frame (serve's decode_ms: read + decode +
#           colour conversion) for H.264 and MJPEG at 640x480, 1280x720 and
#           1920x1080, with a near-instant simulated model so that nothing
#           else competes. (This machine has no hardware decoder.)
#   soak    SOAK_S (600) seconds of 4 MJPEG-over-HTTP cameras (TCP: nothing is
#           lost on the wire, so frames sent are known exactly) at 25 fps into
#           the 320 model: serve's RSS every 10 s, latency p99 per minute, and
#           records + drops == frames read == frames sent.
#
# Environment: YOLOSCOPE_BUILD_DIR (default build/), MODELS (default
# $YOLOSCOPE_BUILD_DIR/models), RUN_S (seconds per matrix cell, default 30),
# WARMUP_S (left out of each cell's numbers, default 5), SOAK_S (default 600),
# BENCH_DIR (default /tmp/ys_stream_bench), COUNTS ("1 2 4 8"), SIZES
# ("320 640"). Wants an idle machine: the load average is printed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${YOLOSCOPE_BUILD_DIR:-$root/build}"
models="${MODELS:-$build/models}"
yoloscope="$build/apps/yoloscope/yoloscope"
work="${BENCH_DIR:-/tmp/ys_stream_bench}"
run_s="${RUN_S:-30}"
warmup_s="${WARMUP_S:-5}"
soak_s="${SOAK_S:-600}"
counts="${COUNTS:-1 2 4 8}"
sizes="${SIZES:-320 640}"
python=/usr/bin/python3
summarize="$root/bench/stream/summarize.py"
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(matrix decode)

die() { echo "stream bench: $*" >&2; exit 1; }
command -v ffmpeg >/dev/null || die "needs ffmpeg (scripts/setup.sh installs it)"
[ -x "$yoloscope" ] || die "no $yoloscope: build first (scripts/setup.sh build)"
mkdir -p "$work"

pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

free_port() { $python -c 'import socket;s=socket.socket(socket.AF_INET,socket.'"$1"');s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# A 10 s camera-like clip (moving test pattern), H.264, keyframe every second.
make_clip() {  # OUT SIZE CODEC_ARGS...
  local out="$1" size="$2"
  shift 2
  [ -s "$out" ] || ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=$size:rate=25" \
    -t 10 "$@" "$out"
}

# Starts serve in the background; waits until it answers. Sets serve_pid.
start_serve() {  # LOG PORT ARGS...
  local log="$1" port="$2"
  shift 2
  rm -f "$log"
  "$yoloscope" serve --port "$port" --grpc-port -1 --log "$log" "$@" \
    >"$log.out" 2>"$log.err" &
  serve_pid=$!
  pids+=("$serve_pid")
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null 2>&1 && return 0
    kill -0 "$serve_pid" 2>/dev/null || { cat "$log.err" >&2; die "serve exited"; }
    sleep 0.1
  done
  die "serve did not become ready"
}

stop_pid() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

echo "# stream benchmark, $(date -u +%FT%TZ), $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# yoloscope $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), ffmpeg $(ffmpeg -version | head -1 | cut -d' ' -f3)"

run_matrix() {
  local clip="$work/cam_640x480.mp4"
  make_clip "$clip" 640x480 -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 25 -bf 0
  echo
  echo "## matrix: N cameras x H.264 640x480 @ 25 fps (UDP) -> yolov8n (ONNX Runtime, CPU), ${run_s}s per cell, first ${warmup_s}s left out"
  $python "$summarize" header
  for size in $sizes; do
    local model="$models/yolov8n_$size.onnx"
    [ -f "$model" ] || { echo "(no $model: skipping $size)"; continue; }
    for n in $counts; do
      local log="$work/matrix_${size}_$n.jsonl" port
      port=$(free_port SOCK_STREAM)
      local args=(--model "$model" --max-batch 8 --max-queue-delay-us 2000)
      local senders=()
      for i in $(seq 1 "$n"); do
        local p
        p=$(free_port SOCK_DGRAM)
        args+=(--stream "cam$i=udp://127.0.0.1:$p")
        senders+=("$p")
      done
      start_serve "$log" "$port" "${args[@]}"
      local cams=()
      for p in "${senders[@]}"; do
        ffmpeg -nostdin -loglevel quiet -re -stream_loop -1 -i "$clip" -c copy -f mpegts \
          "udp://127.0.0.1:$p?pkt_size=1316" &
        cams+=($!)
        pids+=($!)
      done
      sleep "$((run_s + 2))"
      for c in "${cams[@]}"; do stop_pid "$c"; done
      stop_pid "$serve_pid"
      $python "$summarize" matrix "$log" --size "$size" --streams "$n" --skip-s "$warmup_s" \
        --span-s "$run_s"
    done
  done
}

run_decode() {
  echo
  echo "## decode: software decode per frame (serve's decode_ms), near-instant simulated model"
  local sim="$work/instant-sim.yaml"
  cat >"$sim" <<'YAML'
simulator: yoloscope-sim/1
description: "stream decode benchmark: a near-instant simulated model"
model:
  name: instant-sim
  input_size: 320
latency:
  base_ms: 0.1
  per_image_ms: 0.01
  alpha: 1.0
  jitter_pct: 0
  seed: 1
YAML
  $python "$summarize" decode-header
  for res in 640x480 1280x720 1920x1080; do
    for codec in h264 mjpeg; do
      local clip="$work/decode_${res}.$codec.mkv"
      if [ "$codec" = h264 ]; then
        make_clip "$clip" "$res" -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 25 -bf 0
      else
        make_clip "$clip" "$res" -c:v mjpeg -q:v 5
      fi
      local log="$work/decode_${res}_$codec.jsonl" port
      port=$(free_port SOCK_STREAM)
      # A file, every frame (block policy): 250 frames, nothing dropped.
      start_serve "$log" "$port" --model "$sim" --backend sim --stream "f=$clip"
      local cpu0
      cpu0=$(awk '{print $14 + $15}' /proc/"$serve_pid"/stat)
      for _ in $(seq 1 600); do grep -q '"state":"ended"' "$log" 2>/dev/null && break; sleep 0.1; done
      local cpu1
      cpu1=$(awk '{print $14 + $15}' /proc/"$serve_pid"/stat)
      stop_pid "$serve_pid"
      # FFmpeg alone, one thread, decoding to nothing: the codec's own CPU cost.
      local ff_utime
      ff_utime=$(ffmpeg -nostdin -benchmark -threads 1 -i "$clip" -f null - 2>&1 |
        sed -n 's/.*bench: utime=\([0-9.]*\)s.*/\1/p' | tail -1)
      $python "$summarize" decode "$log" --label "$codec $res" \
        --serve-cpu-s "$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$(getconf CLK_TCK)" 'BEGIN{print (b-a)/hz}')" \
        --ffmpeg-cpu-s "$ff_utime"
    done
  done
}

run_soak() {
  echo
  echo "## soak: 4 MJPEG-over-HTTP cameras 640x480 @ 25 fps for ${soak_s}s -> yolov8n 320 (CPU)"
  local model="$models/yolov8n_320.onnx" log="$work/soak.jsonl" port
  port=$(free_port SOCK_STREAM)
  local args=(--model "$model" --max-batch 8 --max-queue-delay-us 2000)
  local cam_ports=() cams=()
  for i in 1 2 3 4; do
    local p
    p=$(free_port SOCK_STREAM)
    cam_ports+=("$p")
    # The camera: exactly soak_s * 25 frames, in real time, to one client.
    ffmpeg -nostdin -loglevel error -re -f lavfi -i "testsrc2=size=640x480:rate=25" \
      -t "$soak_s" -c:v mjpeg -q:v 5 -f mpjpeg -listen 1 "http://127.0.0.1:$p/cam.mjpg" \
      -progress "$work/soak_cam$i.progress" &
    cams+=($!)
    pids+=($!)
    args+=(--stream "cam$i=http://127.0.0.1:$p/cam.mjpg")
  done
  local cfg="$work/soak.yaml"
  printf 'stream_stats_period_ms: 10000\n' >"$cfg"
  start_serve "$log" "$port" --config "$cfg" "${args[@]}"
  local rss="$work/soak_rss.tsv"
  : >"$rss"
  local t0=$SECONDS
  while kill -0 "${cams[0]}" 2>/dev/null && [ $((SECONDS - t0)) -lt $((soak_s + 60)) ]; do
    echo -e "$((SECONDS - t0))\t$(awk '/VmRSS/{print $2}' /proc/"$serve_pid"/status)" >>"$rss"
    sleep 10
  done
  for c in "${cams[@]}"; do wait "$c" 2>/dev/null || true; done
  sleep 2
  stop_pid "$serve_pid"
  local sent=()
  for i in 1 2 3 4; do
    sent+=("cam$i=$(grep -o '^frame=[0-9]*' "$work/soak_cam$i.progress" | tail -1 | cut -d= -f2)")
  done
  $python "$summarize" soak "$log" --rss "$rss" --sent "${sent[@]}"
}

for part in "${parts[@]}"; do
  case "$part" in
    matrix) run_matrix ;;
    decode) run_decode ;;
    soak) run_soak ;;
    *) die "unknown part '$part' (matrix | decode | soak)" ;;
  esac
done
echo
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
