#!/usr/bin/env bash
# On a GPU host with a CUDA PyTorch wheel (python3 -c 'import torch'), nvcc,
# cmake and (optionally) ninja, from anywhere in the repository:
#   1. builds bench/gpu (the torch backend's CUDA path from src/, the gpu test,
#      ys_gpu_bench) against the wheel's libtorch, with the dependencies
#      carried in build-gpucarry/bundle.tar.xz (bench/gpu/prepare_carry.sh);
#   2. runs torch_cuda_test (ctest -L gpu);
#   3. benchmarks YOLOv8-n at 640 per batch size 1..32, FP32/FP16, with and
#      without CUDA graphs (ys_gpu_bench), then the same model in a plain
#      PyTorch loop (torch_loop.py), and prints the ratio table last.
# Nothing is generated here: the models come from build-gpucarry/models.
#
#   bench/gpu/run_gpu_bench.sh [--skip-test] [--skip-bench] [--quick]
#
# Logs and CSVs go to $OUT (the device tool's output folder) or
# build-gpu-bench/out: configure.log build.log test.log bench.log cpp.csv py.csv
# ratio.txt.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
skip_test=0 skip_bench=0 quick=0
for a in "$@"; do
  case $a in
    --skip-test) skip_test=1 ;;
    --skip-bench) skip_bench=1 ;;
    --quick) quick=1 ;;
    *) echo "usage: $0 [--skip-test] [--skip-bench] [--quick]" >&2; exit 2 ;;
  esac
done
out=${OUT:-$root/build-gpu-bench/out}
mkdir -p "$out"
carry=$root/build-gpucarry
models=$carry/models
build=$root/build-gpu-bench
py=python3
[[ -x /opt/torch/.venv/bin/python3 ]] && py=/opt/torch/.venv/bin/python3
export CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
export PATH=$CUDA_HOME/bin:$PATH
export PYTHONUNBUFFERED=1

step() { echo; echo "=== $* ($(date -u +%H:%M:%S))"; }

step "host"
nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv 2>&1
$py -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__,
"cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1
nvcc --version 2>&1 | tail -1
cmake --version | head -1
if [[ ! -e $models/manifest.json || ! -e $carry/bundle.tar.xz ]]; then
  echo "missing $carry (run bench/gpu/prepare_carry.sh on the dev machine and carry" \
       "build-gpucarry)" >&2
  exit 1
fi
# The carried Debian packages (yaml-cpp, nlohmann/json, GoogleTest, ...).
mkdir -p "$build"
if [[ ! -e $build/sysroot/.unpacked || $carry/bundle.tar.xz -nt $build/sysroot/.unpacked ]]; then
  rm -rf "$build/sysroot"
  tar -C "$build" -xJf "$carry/bundle.tar.xz" && touch "$build/sysroot/.unpacked"
fi

step "configure"
prefix=$($py -c 'import torch; print(torch.utils.cmake_prefix_path)')
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
extra=()
# Older Caffe2 configs look for NVTX3 headers; the toolkit has them.
[[ -d $CUDA_HOME/include/nvtx3 ]] && extra+=(-Dnvtx3_dir="$CUDA_HOME/include")
cmake -S bench/gpu -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$build/sysroot/usr;$prefix" -DCUDAToolkit_ROOT="$CUDA_HOME" \
  -DYOLOSCOPE_MODELS_DIR="$models" "${extra[@]}" \
  >"$out/configure.log" 2>&1
rc=$?
tail -25 "$out/configure.log"
[[ $rc -eq 0 ]] || { echo "configure failed (rc $rc), see configure.log"; exit 1; }

step "build"
cmake --build "$build" -j"$(nproc)" >"$out/build.log" 2>&1
rc=$?
grep -E "error|warning: " "$out/build.log" | head -40
tail -3 "$out/build.log"
[[ $rc -eq 0 ]] || { echo "build failed (rc $rc), see build.log"; exit 1; }

if [[ $skip_test -eq 0 ]]; then
  step "test (ctest -L gpu)"
  (cd "$build" && ctest -L gpu --output-on-failure --timeout 900) >"$out/test.log" 2>&1
  rc=$?
  grep -E "^\[  (FAILED|PASSED|SKIPPED) |^\[ +OK|Failure|Expected|Which is|error|tests passed|memory guard|graph" \
    "$out/test.log" | head -80
  echo "torch_cuda_test: rc $rc (full log: test.log)"
fi

if [[ $skip_bench -eq 0 ]]; then
  iters=(--min-time-ms 1500 --min-iters 20 --warmup-iters 10)
  [[ $quick -eq 1 ]] && iters=(--min-time-ms 300 --min-iters 10 --warmup-iters 5)
  step "benchmark: ys_gpu_bench (C++)"
  {
    "$build/ys_gpu_bench" --model "$models/yolov8n_640.torchscript" --batches 1,2,4,8,16,32 \
      --precisions fp32,fp16 --graphs 0,1 "${iters[@]}" --csv "$out/cpp.csv" >/dev/null &&
    "$build/ys_gpu_bench" --model "$models/yolov8n_640.torchscript" --batches 1,8,32 \
      --precisions fp32,fp16 --graphs 0 --jit-optimize 1 "${iters[@]}" \
      --csv "$out/cpp_jit.csv" >/dev/null &&
    tail -n +2 "$out/cpp_jit.csv" >>"$out/cpp.csv" && rm -f "$out/cpp_jit.csv"
  } 2>&1 | tee "$out/bench.log"
  step "benchmark: torch_loop.py (Python baseline)"
  $py bench/gpu/torch_loop.py --model "$models/yolov8n_640.torchscript" \
    --batches 1,2,4,8,16,32 --precisions fp32,fp16 "${iters[@]}" --csv "$out/py.csv" \
    --compare "$out/cpp.csv" 2>>"$out/bench.log" | tee "$out/ratio.txt"
  step "ratio table (also ratio.txt)"
  cat "$out/ratio.txt"
fi
