#!/usr/bin/env bash
# Issue 13's two benchmarks, side by side in one run (docs/benchmarks.md):
#  1. decode + letterbox of a 1080p JPEG to 640: the default (Ultralytics
#     parity: full decode + INTER_LINEAR letterbox) vs --fast-decode (DCT 1/2)
#     vs the plain OpenCV way;
#  2. the ONNX engine (ONNX Runtime) vs libtorch (TorchScript) vs OpenCV DNN
#     on the same generated model, batch 1 and 8, 1 and 2 threads.
# Run on an otherwise idle machine: BUILD=build bench/models/run_model_bench.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${BUILD:-$here/build}"
models="${MODELS:-yolov8n_640|yolov8n_320}"
reps="${REPS:-5}"
echo "# $(date -u +%FT%TZ) $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "## decode + letterbox, 1920x1080 JPEG -> 640x640 (1 thread)"
"$build/bench/image_bench" --benchmark_filter='^decode_letterbox/' \
  --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true 2>&1 |
  grep -E '_(median|stddev) ' || true
echo "## engines on the same model (ms per batch; ms_per_image)"
"$build/bench/backend_bench" --benchmark_filter="^(onnxruntime|torch|opencv)/($models)/batch:(1|8)/" \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2>&1 |
  grep -E '_median ' || true
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
