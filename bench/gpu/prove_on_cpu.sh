#!/usr/bin/env bash
# Proves, on the Debian machine, that bench/gpu/e2e.sh builds and runs the
# whole server with only what the GPU host has: a compiler, CMake, Ninja,
# Python with torch, a libtorch, and the carried bundle (build-gpucarry/).
#
# It makes a bare Debian 12 root with debootstrap (minbase + build-essential,
# cmake, ninja-build, python3, python3-torch; no -dev package of any
# dependency but gflags/glog/protobuf, which Debian's libtorch config wants), puts
# Debian's CPU libtorch (headers, CMake config, libraries) into
# /opt/libtorch of that root (dpkg -x of libtorch-dev, as the wheel keeps
# them under its own prefix), bind-mounts this repository into it and runs,
# inside:
#   bench/gpu/e2e.sh --device cpu --build-all --torch-prefix /opt/libtorch/usr
#   ctest -L unit   (in that build)
# Needs root (debootstrap, chroot, mount) and the Debian archive.
#
#   bench/gpu/prove_on_cpu.sh [--root DIR] [--models DIR] [--onnxruntime DIR] [--quick]
#                             [--no-tests]
#     --root DIR   the chroot (default /var/tmp/yoloscope-gpuhost; reused)
#     --models DIR every generated model, for the unit tests (default
#                  build/models; the carried folder holds only YOLOv8-n)
#     --onnxruntime DIR  the folder of libonnxruntime.so.1 for the ONNX tests (default
#                  the npm package's under deps/, as scripts/setup.sh installs it)
#     --quick      pass --quick to e2e.sh
#     --no-tests   skip ctest -L unit
# Output: build-gpu-proof/out/ (e2e.sh's files, ctest_unit.log).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
root=/var/tmp/yoloscope-gpuhost
quick=() tests=1 models_dir=$repo/build/models
ort_dir=$repo/deps/onnxruntime/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
while (($#)); do
  case $1 in
    --root) root=$2; shift 2 ;;
    --models) models_dir=$(realpath "$2"); shift 2 ;;
    --onnxruntime) ort_dir=$(realpath "$2"); shift 2 ;;
    --quick) quick=(--quick); shift ;;
    --no-tests) tests=0; shift ;;
    *) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "prove_on_cpu.sh: needs root" >&2; exit 2; }
[[ -e $repo/build-gpucarry/bundle.tar.xz ]] || { echo "run bench/gpu/prepare_carry.sh first" >&2; exit 1; }

if [[ ! -e $root/.ready ]]; then
  command -v debootstrap >/dev/null || apt-get install -y debootstrap
  debootstrap --variant=minbase --include=build-essential,cmake,ninja-build,python3,ca-certificates \
    bookworm "$root" http://deb.debian.org/debian
  # Debian's libtorch config also finds gflags, glog and protobuf (the wheel's, built
  # without them, does not): their -dev packages are the torch stand-in's,
  # not yoloscope's.
  chroot "$root" apt-get install -y --no-install-recommends python3-torch libgflags-dev libprotobuf-dev \
    libgoogle-glog-dev
  # libprotobuf-dev pulls zlib1g-dev in; zlib must come from the bundle.
  chroot "$root" dpkg --remove --force-depends zlib1g-dev
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download libtorch-dev libtorch1.13)
  mkdir -p "$root/opt/libtorch"
  for d in "$tmp"/*.deb; do dpkg -x "$d" "$root/opt/libtorch"; done
  rm -rf "$tmp"
  touch "$root/.ready"
fi
# No development package of a yoloscope dependency may be in the root.
for h in boost/version.hpp fmt/core.h yaml-cpp/yaml.h simdjson.h turbojpeg.h png.h zlib.h zstd.h \
         nlohmann/json.hpp CLI/CLI.hpp gtest/gtest.h opencv4; do
  if [[ -e $root/usr/include/$h ]]; then
    echo "prove_on_cpu.sh: $root/usr/include/$h exists: the root is not bare" >&2
    exit 1
  fi
done

mkdir -p "$root/src/yoloscope"
mountpoint -q "$root/src/yoloscope" || mount --bind "$repo" "$root/src/yoloscope"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
cleanup() {
  for m in yoloscope models onnxruntime; do umount "$root/src/$m" 2>/dev/null || true; done
  umount "$root/proc" 2>/dev/null || true
}
trap cleanup EXIT

out=/src/yoloscope/build-gpu-proof/out
# The unit tests want every generated model (ONNX, reference tensors): give
# the build this machine's, where there is one; the e2e run itself uses the
# carried model either way.
models=()
if [[ -e $models_dir/manifest.json ]]; then
  mkdir -p "$root/src/models"
  mountpoint -q "$root/src/models" || mount --bind "$models_dir" "$root/src/models"
  models=(YOLOSCOPE_E2E_MODELS_DIR=/src/models)
fi
if [[ -e $ort_dir/libonnxruntime.so.1 ]]; then
  mkdir -p "$root/src/onnxruntime"
  mountpoint -q "$root/src/onnxruntime" || mount --bind "$ort_dir" "$root/src/onnxruntime"
  models+=(YOLOSCOPE_ONNXRUNTIME_LIB=/src/onnxruntime/libonnxruntime.so.1)
fi
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root OUT=$out "${models[@]}" \
  bash /src/yoloscope/bench/gpu/e2e.sh --device cpu --build-all --build-dir /src/yoloscope/build-gpu-proof \
  --torch-prefix /opt/libtorch/usr "${quick[@]}"
if ((tests)); then
  chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root \
    bash -c "cd /src/yoloscope/build-gpu-proof && ctest -L unit -j2 --timeout 600 2>&1 | tee $out/ctest_unit.log | tail -15"
fi
