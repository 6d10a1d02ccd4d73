#!/usr/bin/env bash
# The demo on the bundled default (scripts/setup.sh demo calls it):
#   1. detect: the generated YOLOv8n runs on Debian's sample photos (torch and OpenCV);
#   2. serve: the same model behind the HTTP server, request log on;
#   3. load: a light phase, then a phase beyond capacity (real requests, real photos);
#   4. analyze: the diagnosis from the request log alone (+ an HTML report when built).
# Usage: scripts/demo.sh BUILD_DIR
set -euo pipefail
build="${1:?usage: demo.sh BUILD_DIR}"
bin="$build/apps/yoloscope/yoloscope"
models="$build/models"
photos="$build/data/photos"
out="$build/demo"
rm -rf "$out" && mkdir -p "$out"
step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

step "1/4 detect: yolov8n (640, generated seeded model) on $(ls "$photos"/*.jpg | wc -l) sample photos"
for backend in torch onnxruntime; do
  ext=torchscript; [ "$backend" = onnxruntime ] && ext=onnx
  "$bin" detect --model "$models/yolov8n_640.$ext" --backend "$backend" --draw "$out/drawn-$backend" \
    "$photos"/*.jpg > "$out/detections-$backend.jsonl"
  echo "  $backend: $(grep -o '"class_id"' "$out/detections-$backend.jsonl" | wc -l) detections;" \
       "first image: $(head -c 160 "$out/detections-$backend.jsonl")..." >&2
done
echo "  annotated copies: $out/drawn-torch/" >&2

step "2/4 serve: yolov8n (320) on 127.0.0.1, one instance, batches up to 4, queue of 32"
"$bin" serve --model "$models/yolov8n_320.torchscript" --port 0 --grpc-port 0 --threads 1 \
  --max-batch 4 --max-queue-delay-us 2000 --max-queue-size 32 \
  --log "$out/requests.jsonl" 2> "$out/serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
port=""
for _ in $(seq 1 300); do
  port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$out/serve.log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  kill -0 $server 2>/dev/null || { cat "$out/serve.log" >&2; exit 1; }
  sleep 0.2
done
[ -n "$port" ] || { echo "server did not start" >&2; cat "$out/serve.log" >&2; exit 1; }
echo "  listening on http://127.0.0.1:$port; request log $out/requests.jsonl" >&2

bench() {
  "$bin" bench --url "http://127.0.0.1:$port" --images "$photos" --arrivals poisson \
    --warmup-ms 0 --window-ms 2000 --max-windows 3 "$@" 2>&1 | sed 's/^/  /' >&2
}
step "3/4 load: 6 s at 5 req/s (light), then 6 s at 150 req/s (beyond one CPU instance)"
bench --rate 5
bench --rate 150

kill -TERM $server
wait $server || true
trap - EXIT

step "4/4 analyze: the diagnosis from $(grep -c '"event":"request"' "$out/requests.jsonl") request records"
"$bin" analyze "$out/requests.jsonl" || true
if "$bin" analyze --help 2>&1 | grep -q -- '--html'; then
  "$bin" analyze "$out/requests.jsonl" --html "$out/report.html" > /dev/null && \
    echo "HTML report: $out/report.html" >&2
fi
echo "Request log: $out/requests.jsonl" >&2
