#!/usr/bin/env bash
# Run on the Debian development machine (it has the dev packages): fills
# build-gpucarry/ with what the GPU host lacks, for bench/gpu/run_gpu_bench.sh:
#   models/  the generated TorchScript models + manifest.json + coco.names
#            (from build/models; no ONNX, no reference tensors)
#   deps/    nlohmann/json and yaml-cpp headers, libyaml-cpp.a, GoogleTest's
#            source (Debian's googletest package)
# build-gpucarry/ is ignored by git (/build*/); name it in the device tool's
# `carry` list. It must stay, with the working tree, under 64 MiB.
#
#   bench/gpu/prepare_carry.sh [MODELS_DIR]   (default: build/models)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
models=${1:-$root/build/models}
dst=$root/build-gpucarry

for f in "$models/manifest.json" /usr/include/nlohmann/json.hpp /usr/include/yaml-cpp/yaml.h \
         /usr/lib/x86_64-linux-gnu/libyaml-cpp.a /usr/src/googletest/CMakeLists.txt; do
  if [[ ! -e $f ]]; then
    echo "prepare_carry.sh: missing $f (build the models target; apt-get install" \
         "nlohmann-json3-dev libyaml-cpp-dev googletest)" >&2
    exit 1
  fi
done

rm -rf "$dst"
mkdir -p "$dst/models" "$dst/deps/include" "$dst/deps/lib" "$dst/deps/googletest"
cp "$models/manifest.json" "$dst/models/"
[[ -e $models/coco.names ]] && cp "$models/coco.names" "$dst/models/"
cp "$models"/*.torchscript "$dst/models/"
cp -r /usr/include/nlohmann /usr/include/yaml-cpp "$dst/deps/include/"
cp /usr/lib/x86_64-linux-gnu/libyaml-cpp.a "$dst/deps/lib/"
# GoogleTest without GoogleMock (BUILD_GMOCK=OFF needs only googletest/).
cp /usr/src/googletest/CMakeLists.txt "$dst/deps/googletest/"
cp -r /usr/src/googletest/googletest "$dst/deps/googletest/"

du -sh "$dst"/models "$dst"/deps "$dst"
echo "working tree that travels (tracked + untracked, not ignored):"
(cd "$root" && git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null |
   tail -1 | awk '{printf "  %.1f MiB\n", $1 / 1048576}')
