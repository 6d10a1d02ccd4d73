#!/usr/bin/env bash
# The whole server on a GPU under real load, in one run (docs/gpu.md).
#
# On the GPU host (PyTorch's CUDA wheel in python3, nvcc, cmake; no Debian
# development packages), from the repository root, with build-gpucarry/
# carried (bench/gpu/prepare_carry.sh made it on the Debian machine):
#   1. builds the whole tree against the wheel's libtorch and the carried
#      bundle of Debian packages (no OpenCV, no gRPC, CUDA on);
#   2. ctest -L gpu;
#   3. per mode (FP32, FP16, FP16 + CUDA graphs): `bench --engine` per batch
#      size, then `serve --device cuda:0` under `bench` load: a closed loop
#      sweeping concurrency, then an open loop above capacity;
#   4. the request log's cost: the best mode again with no log and no NVML;
#   5. a co-tenant episode: serve under open-loop load while another process
#      (cotenant.py, the host's torch) takes GPU memory and compute for 30 s;
#   6. the plain PyTorch loop over the same TorchScript model (torch_loop.py);
#   7. CPU and GPU detections of the carried photos compared;
#   8. `analyze` on every log: text, JSON and the HTML report;
#   9. the summary table, last (e2e_summary.py; also summary.md).
# Everything goes to $OUT (the device tool's output folder), else
# build-gpu/out.
#
#   bench/gpu/e2e.sh [--device cuda:0|cpu] [--torch-prefix DIR] [--build-dir DIR]
#                    [--build-only] [--build-all] [--skip-build] [--quick]
#
#   --device cpu   the dry run: the same steps on the CPU; the co-tenant phase
#                  serves the simulated GPU (labelled so) beside a CPU stand-in
#                  of the co-tenant, and no CUDA is built
#   --torch-prefix the libtorch CMake prefix (default: python3's
#                  torch.utils.cmake_prefix_path)
#   --build-all    build every target (tests included), not only what the run
#                  needs
#   --quick        shorter phases (the dry run on a small machine)
# YOLOSCOPE_E2E_MODELS_DIR: the build's models folder for its tests (default
# the carried one, which holds only what the GPU run needs).
# YOLOSCOPE_ONNXRUNTIME_LIB: libonnxruntime.so.1 for the ONNX Runtime backend
# (default: the host's python onnxruntime package's, if any).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
device=cuda:0 torch_prefix="" build=$root/build-gpu build_only=0 build_all=0 skip_build=0 quick=0
while (($#)); do
  case $1 in
    --device) device=$2; shift 2 ;;
    --torch-prefix) torch_prefix=$2; shift 2 ;;
    --build-dir) build=$(realpath -m "$2"); shift 2 ;;
    --build-only) build_only=1; shift ;;
    --build-all) build_all=1; shift ;;
    --skip-build) skip_build=1; shift ;;
    --quick) quick=1; shift ;;
    *) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
out=${OUT:-$build/out}
mkdir -p "$out"
carry=$root/build-gpucarry
model=$carry/models/yolov8n_640.torchscript
photos=$carry/photos
py=python3
[[ -x /opt/torch/.venv/bin/python3 ]] && py=/opt/torch/.venv/bin/python3
[[ -n ${YOLOSCOPE_PYTHON:-} ]] && py=$YOLOSCOPE_PYTHON
cuda=0
[[ $device == cuda* ]] && cuda=1
export CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
[[ -d $CUDA_HOME/bin ]] && export PATH=$CUDA_HOME/bin:$PATH
export PYTHONUNBUFFERED=1
jobs=$(nproc)
Y=$build/apps/yoloscope/yoloscope
t0=$(date +%s)

step() { echo; echo "=== $* ($(date -u +%H:%M:%S), +$(($(date +%s) - t0)) s)"; }
note() { echo "$*" | tee -a "$out/notes.txt"; }

# Phase lengths (ms): a GPU run must fit in ~8 minutes with the build.
if ((quick)); then
  eng_ms=400 warm_ms=500 win_ms=1000 wins=3 levels=1,4 batches=1,4 cot_s=12 cot_at=3 cot_load_s=20
else
  eng_ms=1000 warm_ms=1000 win_ms=1500 wins=3 levels=1,4,16,64 batches=1,2,4,8,16,32 cot_s=30 cot_at=8
  cot_load_s=45
fi
if ((cuda)); then
  modes=(fp32 fp16 fp16graphs)
  max_batch=32
else
  # The CPU warms up every batch size up to max_batch: keep it small.
  modes=(fp32)
  max_batch=4
fi

: >"$out/notes.txt"
step "host"
{
  uname -a
  nproc
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version \
    --format=csv
  $py -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__,
"cuda", torch.version.cuda, "available", torch.cuda.is_available())'
  command -v nvcc >/dev/null && nvcc --version | tail -1
  cmake --version | head -1
  c++ --version | head -1
} 2>&1 | tee "$out/host.txt"
for f in "$carry/bundle.tar.xz" "$model" "$carry/models/manifest.json"; do
  [[ -e $f ]] || { echo "missing $f: run bench/gpu/prepare_carry.sh on the Debian machine and" \
    "carry build-gpucarry" >&2; exit 1; }
done

# --- 1. build -----------------------------------------------------------------
if ((!skip_build)); then
  step "configure (bundle + libtorch)"
  mkdir -p "$build"
  if [[ ! -e $build/sysroot/.unpacked || $carry/bundle.tar.xz -nt $build/sysroot/.unpacked ]]; then
    rm -rf "$build/sysroot"
    tar -C "$build" -xJf "$carry/bundle.tar.xz" && touch "$build/sysroot/.unpacked"
  fi
  if [[ -z $torch_prefix ]]; then
    torch_prefix=$($py -c 'import torch; print(torch.utils.cmake_prefix_path)')
  fi
  extra=()
  command -v ninja >/dev/null && [[ ! -e $build/Makefile ]] && extra+=(-G Ninja)
  # Older Caffe2 configs look for NVTX3 headers; the toolkit has them.
  ((cuda)) && [[ -d $CUDA_HOME/include/nvtx3 ]] && extra+=(-Dnvtx3_dir="$CUDA_HOME/include")
  # The wheel's onnxruntime, if the host has one: the ONNX Runtime backend
  # loads it at run time (nothing is linked).
  ort=${YOLOSCOPE_ONNXRUNTIME_LIB:-}
  [[ -n $ort ]] || ort=$($py -c 'import onnxruntime, glob, os
print(next(iter(sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi",
"libonnxruntime.so*")))), ""))' 2>/dev/null)
  [[ -n $ort ]] && extra+=(-DYOLOSCOPE_ONNXRUNTIME_LIB="$ort")
  cmake -S "$root" -B "$build" "${extra[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$build/sysroot/usr;$torch_prefix" \
    -DCUDAToolkit_ROOT="$CUDA_HOME" \
    -DYOLOSCOPE_USE_OPENCV=OFF -DYOLOSCOPE_WITH_OPENCV=OFF -DYOLOSCOPE_WITH_GRPC=OFF \
    -DYOLOSCOPE_WITH_CUDA=$( ((cuda)) && echo ON || echo OFF) \
    -DYOLOSCOPE_GENERATE_MODELS=OFF -DYOLOSCOPE_MODELS_DIR="${YOLOSCOPE_E2E_MODELS_DIR:-$carry/models}" \
    -DYOLOSCOPE_PHOTO_SOURCE_DIR="$photos" -DYOLOSCOPE_BUILD_BENCH=OFF \
    >"$out/configure.log" 2>&1
  rc=$?
  grep -A12 'yoloscope configuration' "$out/configure.log"
  ((rc == 0)) || { tail -30 "$out/configure.log"; echo "configure failed (rc $rc)"; exit 1; }

  step "build"
  targets=(--target yoloscope)
  ((cuda)) && targets+=(--target torch_cuda_test)
  ((build_all)) && targets=()
  cmake --build "$build" "${targets[@]}" -j"$jobs" >"$out/build.log" 2>&1
  rc=$?
  grep -E "error|warning: " "$out/build.log" | head -30
  tail -2 "$out/build.log"
  ((rc == 0)) || { echo "build failed (rc $rc), see build.log"; exit 1; }
  note "build: $(($(date +%s) - t0)) s from the start"
fi
((build_only)) && exit 0
[[ -x $Y ]] || { echo "no $Y (build first)" >&2; exit 1; }

# --- 2. gpu tests ---------------------------------------------------------------
step "ctest -L gpu"
(cd "$build" && timeout 300 ctest -L gpu --output-on-failure) >"$out/ctest_gpu.log" 2>&1
echo "ctest -L gpu: rc $?" | tee -a "$out/notes.txt"
tail -4 "$out/ctest_gpu.log"

free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() {  # PORT PID: up to 300 s (warm-up runs every batch size)
  local deadline=$(($(date +%s) + 300))
  while (($(date +%s) < deadline)); do
    kill -0 "$2" 2>/dev/null || return 1
    $py -c "import urllib.request,sys
try: sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:$1/v2/health/ready', timeout=1).status == 200 else 1)
except Exception: sys.exit(1)" && return 0
    sleep 0.5
  done
  return 1
}
mode_args() {  # MODE -> serve/bench flags
  case $1 in
    fp32) echo "--precision fp32" ;;
    fp16) echo "--precision fp16" ;;
    fp16graphs) echo "--precision fp16 --cuda-graphs" ;;
  esac
}
# serve NAME MODEL_OR_CONFIG EXTRA...: starts `yoloscope serve` in the
# background; sets $port and $serve_pid.
serve() {
  local name=$1 m=$2
  shift 2
  port=$(free_port)
  "$Y" serve -m "$m" --port "$port" --grpc-port -1 --max-batch "$max_batch" --max-queue-delay-us 2000 \
    --max-queue-size 1024 "$@" >"$out/$name.serve.log" 2>&1 &
  serve_pid=$!
  if ! wait_ready "$port" "$serve_pid"; then
    echo "serve $name did not become ready; its log:"; tail -20 "$out/$name.serve.log"
    kill "$serve_pid" 2>/dev/null
    return 1
  fi
}
stop_serve() {  # NAME: SIGTERM, then record how it ended
  kill -TERM "$serve_pid" 2>/dev/null
  wait "$serve_pid"
  local rc=$?
  echo "serve $1: exit $rc" | tee -a "$out/notes.txt"
}
load() {  # NAME ARGS...: bench against $port
  local name=$1
  shift
  "$Y" bench --url "http://127.0.0.1:$port" --image-size 640x480 --warmup-ms "$warm_ms" \
    --window-ms "$win_ms" --max-windows "$wins" --json "$out/$name.json" "$@" >"$out/$name.txt" 2>&1
  echo "bench $name: rc $?"
  grep -E '^ *[0-9]' "$out/$name.txt" | tail -6
}
# Server-side preprocessing (JPEG decode + letterbox) scales with workers.
export YOLOSCOPE_PIPELINE_PREPROCESS_WORKERS=${YOLOSCOPE_PIPELINE_PREPROCESS_WORKERS:-$(( jobs > 4 ? jobs / 2 : 2 ))}
export YOLOSCOPE_PIPELINE_POSTPROCESS_WORKERS=${YOLOSCOPE_PIPELINE_POSTPROCESS_WORKERS:-2}

# --- 3. engine and served throughput per mode -------------------------------------
for mode in "${modes[@]}"; do
  step "engine: $mode"
  # shellcheck disable=SC2046
  "$Y" bench --engine -m "$model" --device "$device" $( ((cuda)) && mode_args "$mode") \
    --batch "$batches" --min-time-ms "$eng_ms" --save-curve "$out/engine_$mode.json" \
    >"$out/engine_$mode.txt" 2>&1
  echo "engine $mode: rc $?"
  grep -E '^ *b=' "$out/engine_$mode.txt"

  step "serve: $mode (closed loop, then open loop above capacity)"
  # shellcheck disable=SC2046
  serve "serve_$mode" "$model" --device "$device" $( ((cuda)) && mode_args "$mode") \
    --log "$out/serve_$mode.jsonl" || continue
  load "closed_$mode" --concurrency "$levels"
  best=$($py -c "import json; d=json.load(open('$out/closed_$mode.json'))
print(max(((l.get('summary') or l).get('throughput_rps') or 0) for l in d.get('levels', [])))" 2>/dev/null || echo 0)
  rate=$($py -c "print(max(1.0, 1.5 * float('$best')))")
  load "open_$mode" --rate "$rate" --arrivals poisson --seed 7
  stop_serve "serve_$mode"
done

# --- 4. the log's cost ---------------------------------------------------------------
best_mode=${modes[-1]}
step "log + telemetry cost: $best_mode, log off and process telemetry vs the run above"
top=$($py -c "import json; d=json.load(open('$out/closed_$best_mode.json'))
print(int(max(d['levels'], key=lambda l: (l.get('summary') or l).get('throughput_rps') or 0)['level']))" 2>/dev/null || echo 16)
for variant in nolog log; do
  if [[ $variant == nolog ]]; then
    # shellcheck disable=SC2046
    YOLOSCOPE_TELEMETRY_KIND=process serve "overhead_$variant" "$model" --device "$device" \
      $( ((cuda)) && mode_args "$best_mode") --no-log || continue
  else
    # shellcheck disable=SC2046
    serve "overhead_$variant" "$model" --device "$device" $( ((cuda)) && mode_args "$best_mode") \
      --log "$out/overhead_log.jsonl" || continue
  fi
  load "overhead_$variant" --concurrency "$top"
  stop_serve "overhead_$variant"
done

# --- 5. the co-tenant episode -------------------------------------------------------
step "co-tenant: open loop at ~70% of capacity for $cot_load_s s; the co-tenant from +$cot_at s for $cot_s s"
best=$($py -c "import json; d=json.load(open('$out/closed_$best_mode.json'))
print(max(((l.get('summary') or l).get('throughput_rps') or 0) for l in d.get('levels', [])))" 2>/dev/null || echo 10)
rate=$($py -c "print(max(1.0, 0.7 * float('$best')))")
if ((cuda)); then
  # shellcheck disable=SC2046
  serve cotenant "$model" --device "$device" $(mode_args "$best_mode") \
    --log "$out/cotenant.jsonl"
  cot_dev=$device
  note "co-tenant: real (cotenant.py on $device)"
else
  # The dry run: the simulated GPU (labelled as such in its log and in every
  # report) with a co-tenant episode at the same times, beside cotenant.py's
  # CPU stand-in.
  cat >"$out/sim_cotenant.yaml" <<EOF
simulator: yoloscope-sim/1
description: "SIMULATED GPU for the e2e dry run: a co-tenant at the real run's times (not a measurement)"
model: {name: yolov8n-sim, input_size: 640}
device: {name: "simulated GPU (H100-80GB-like, illustrative)", memory_mb: 81559, context_mb: 500}
latency: {base_ms: 1.46, per_image_ms: 0.142, jitter_pct: 2, seed: 1}
memory: {weights_mb: 13, activation_mb_per_image: 60, cache_flush_ms: 2}
events:
  - {type: cotenant, start_s: $((cot_at + 2)), end_s: $((cot_at + 2 + cot_s)), mb: 80500, evict_cache: true,
     note: "the e2e co-tenant (simulated)"}
  - {type: contention, start_s: $((cot_at + 2)), end_s: $((cot_at + 2 + cot_s)), latency_factor: 1.5, util_pct: 99}
EOF
  serve cotenant "$out/sim_cotenant.yaml" --log "$out/cotenant.jsonl"
  cot_dev=cpu
  note "co-tenant: SIMULATED GPU (dry run) + cotenant.py --device cpu"
fi
cot_ok=$?
if ((cot_ok == 0)); then
  ( sleep "$cot_at"; $py "$root/bench/gpu/cotenant.py" --device "$cot_dev" --seconds "$cot_s" \
      >"$out/cotenant_process.jsonl" 2>"$out/cotenant_process.err"
    echo "cotenant.py: exit $?" >>"$out/notes.txt" ) &
  cot_pid=$!
  windows=$(( (cot_load_s * 1000 + 4999) / 5000 ))
  "$Y" bench --url "http://127.0.0.1:$port" --image-size 640x480 --warmup-ms 0 --window-ms 5000 \
    --max-windows "$windows" --stability-pct 0.001 --rate "$rate" --arrivals poisson --seed 11 \
    --json "$out/cotenant_load.json" >"$out/cotenant_load.txt" 2>&1
  echo "bench cotenant_load: rc $?"
  wait "$cot_pid"
  if kill -0 "$serve_pid" 2>/dev/null; then
    note "serve cotenant: alive after the episode"
  else
    note "serve cotenant: DIED during the episode"
  fi
  $py -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/metrics',
timeout=5).read().decode())" >"$out/cotenant_metrics.txt" 2>&1
  stop_serve cotenant
fi

# --- 6. the plain PyTorch loop ----------------------------------------------------------
step "plain PyTorch loop (torch_loop.py)"
if ((cuda)); then
  precs=fp32,fp16
else
  precs=fp32
fi
$py "$root/bench/gpu/torch_loop.py" --model "$model" --device "$device" --batches "$batches" \
  --precisions "$precs" --min-time-ms "$eng_ms" --csv "$out/torch_loop.csv" >"$out/torch_loop.txt" 2>&1
echo "torch_loop.py: rc $?"
tail -8 "$out/torch_loop.txt"

# --- 7. CPU and GPU detections ---------------------------------------------------------
step "detections: CPU fp32 vs $device"
"$Y" detect -m "$model" --device cpu "$photos"/*.jpg >"$out/detect_cpu.jsonl" 2>"$out/detect_cpu.err"
echo "detect cpu: rc $?"
if ((cuda)); then
  for p in fp32 fp16; do
    "$Y" detect -m "$model" --device "$device" --precision "$p" "$photos"/*.jpg \
      >"$out/detect_cuda_$p.jsonl" 2>"$out/detect_cuda_$p.err"
    echo "detect $device $p: rc $?"
  done
else
  # The dry run has no second device: batch 4 against batch 1 exercises the
  # comparison.
  "$Y" detect -m "$model" --device cpu --batch 4 "$photos"/*.jpg >"$out/detect_cpu_batch4.jsonl" \
    2>"$out/detect_cpu_batch4.err"
  echo "detect cpu batch 4: rc $?"
fi

# --- 8. analyze ------------------------------------------------------------------------
step "analyze"
for log in "$out"/*.jsonl; do
  name=$(basename "$log" .jsonl)
  case $name in detect_* | cotenant_process) continue ;; esac
  "$Y" analyze "$log" >"$out/analyze_$name.txt" 2>&1
  "$Y" analyze "$log" --format json >"$out/analyze_$name.json" 2>"$out/analyze_$name.json.err"
  "$Y" analyze "$log" --html "$out/report_$name.html" >/dev/null 2>&1
  echo "analyze $name: rc $?"
done
sed -n '1,40p' "$out/analyze_cotenant.txt" 2>/dev/null

# --- 9. summary -------------------------------------------------------------------------
step "summary"
$py "$root/bench/gpu/e2e_summary.py" "$out" --device "$device" --modes "${modes[*]}" \
  --best-mode "$best_mode" | tee "$out/summary.md"
echo "total: $(($(date +%s) - t0)) s"
