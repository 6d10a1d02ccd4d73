#!/usr/bin/env bash
# Run on the Debian 12 development machine. Fills build-gpucarry/ with what
# the GPU host lacks to build and run the whole server (bench/gpu/e2e.sh):
#
#   bundle.tar.xz  Debian 12 packages' files, extracted with `dpkg -x`
#                  (sysroot/usr/...): headers, CMake configs and libraries of
#                  Boost (only the header libraries the tree includes), fmt,
#                  yaml-cpp, simdjson, nlohmann/json, CLI11, TurboJPEG,
#                  libpng, zlib, zstd, GoogleTest and GoogleMock. No OpenCV, no gRPC: the
#                  host build turns them off (YOLOSCOPE_USE_OPENCV=OFF,
#                  YOLOSCOPE_WITH_GRPC=OFF).
#   bundle.txt     the packages and versions in it
#   models/        YOLOv8-n at 640 (TorchScript; torch_cuda_test and e2e.sh use it)
#                  with a manifest.json naming only them, and coco.names
#   photos/        the sample JPEGs (bench load, CPU/GPU agreement)
#
# build-gpucarry/ is ignored by git (/build*/); name it in the device tool's
# `carry` list. With the working tree it must stay under 64 MiB: the script
# prints the total and fails above it.
#
#   bench/gpu/prepare_carry.sh [--models DIR] [--photos DIR]
#       --models DIR  generated models (default build/models)
#       --photos DIR  *.jpg to carry (default build/data/photos)
#
# Needs the Debian archive (apt-get download) and a built models folder
# (cmake --build build --target models).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
models=$root/build/models
photos=$root/build/data/photos
while (($#)); do
  case $1 in
    --models) models=$2; shift 2 ;;
    --photos) photos=$2; shift 2 ;;
    *) echo "usage: $0 [--models DIR] [--photos DIR]" >&2; exit 2 ;;
  esac
done
dst=$root/build-gpucarry
carried_models=(yolov8n_640)

# Development packages and, for their .so links to point at something, the
# runtime packages behind them. Boost's compiled libraries are not needed
# (the tree uses Boost's header-only libraries).
packages=(
  libboost1.74-dev
  libfmt-dev libfmt9
  libyaml-cpp-dev libyaml-cpp0.7
  libsimdjson-dev libsimdjson14
  libturbojpeg0-dev libturbojpeg0
  libpng-dev libpng16-16
  zlib1g-dev zlib1g
  libzstd-dev libzstd1
  nlohmann-json3-dev
  libcli11-dev
  libgtest-dev libgmock-dev
)
# Boost: the header libraries the tree's translation units include
# (collected from the compiler's dependency files of a full build:
# `grep -ho '/usr/include/boost/[^ ]*' build/**/*.o.d`, first path
# component), plus a few that Asio/Beast include only under other compilers
# or configurations.
boost_keep=(
  asio assert beast config container_hash core date_time detail exception intrusive io logic
  move mp11 mpl none.hpp none_t.hpp numeric optional preprocessor smart_ptr system
  type_traits utility
  align bind function functional integer iterator range tuple variant2 endian static_assert.hpp
  array.hpp
  assert.hpp cerrno.hpp checked_delete.hpp config.hpp cstdint.hpp current_function.hpp
  enable_shared_from_this.hpp is_placeholder.hpp limits.hpp make_shared.hpp make_unique.hpp
  operators.hpp optional.hpp shared_ptr.hpp throw_exception.hpp type.hpp type_traits.hpp
  version.hpp
)

for f in "$models/manifest.json"; do
  [[ -e $f ]] || { echo "prepare_carry.sh: missing $f (cmake --build build --target models)" >&2; exit 1; }
done
for m in "${carried_models[@]}"; do
  [[ -e $models/$m.torchscript ]] || { echo "prepare_carry.sh: missing $models/$m.torchscript" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/sysroot"
echo "downloading ${#packages[@]} packages"
(cd "$work/debs" && apt-get download "${packages[@]}" >/dev/null 2>"$work/apt.err") || {
  cat "$work/apt.err" >&2; exit 1; }
: >"$work/bundle.txt"
for d in "$work"/debs/*.deb; do
  dpkg -x "$d" "$work/sysroot"
  dpkg-deb -f "$d" Package Version | paste -sd' ' >>"$work/bundle.txt"
done

# Absolute links (zlib's libz.so -> /lib/x86_64-linux-gnu/libz.so.1.2.13)
# would point into the host's own files: make them relative, inside the
# bundle.
(cd "$work/sysroot" && find . -type l -lname '/*' | while read -r l; do
  t=$(readlink "$l")
  [[ -e .$t ]] && ln -sfn "$(realpath -m --relative-to="$(dirname "$l")" ".$t")" "$l"
done)

s=$work/sysroot/usr
rm -rf "$s/share/doc" "$s/share/man" "$s/share/lintian" "$s/share/bug" "$s/src"
# Boost: keep the listed header libraries only.
(cd "$s/include/boost" && for e in *; do
  keep=0
  for k in "${boost_keep[@]}"; do [[ $e == "$k" ]] && keep=1 && break; done
  ((keep)) || rm -rf "$e"
done)
# Boost's CMake configs for its compiled libraries would point at missing
# files; keep the headers' config and the top-level one.
(cd "$s/lib/x86_64-linux-gnu/cmake" && for e in boost_*; do
  [[ $e == boost_headers-* ]] || rm -rf "$e"
done)

rm -rf "$dst"
mkdir -p "$dst/models" "$dst/photos"
tar -C "$work" -cJf "$dst/bundle.tar.xz" sysroot
cp "$work/bundle.txt" "$dst/bundle.txt"

for m in "${carried_models[@]}"; do cp "$models/$m.torchscript" "$dst/models/"; done
[[ -e $models/coco.names ]] && cp "$models/coco.names" "$dst/models/"
# The manifest, cut down to the carried models (their torchscript only).
/usr/bin/python3 - "$models/manifest.json" "$dst/models/manifest.json" "${carried_models[@]}" <<'EOF'
import json, sys
src, dst, keep = sys.argv[1], sys.argv[2], set(sys.argv[3:])
m = json.load(open(src))
models = m["models"] if isinstance(m, dict) and "models" in m else m
if isinstance(models, list):
    kept = [x for x in models if x.get("name") in keep]
else:
    kept = {k: v for k, v in models.items() if k in keep}
if isinstance(m, dict) and "models" in m:
    m["models"] = kept
else:
    m = kept
json.dump(m, open(dst, "w"), indent=1)
print("manifest:", len(kept), "models")
EOF
cp "$photos"/*.jpg "$dst/photos/"

tree_bytes=$(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null |
  tail -1 | cut -f1)
carry_bytes=$(du -sb "$dst" | cut -f1)
total=$((tree_bytes + carry_bytes))
printf 'bundle.tar.xz %d KiB (%d packages); carry %d KiB; tree %d KiB; total %.1f MiB of 64\n' \
  $(($(stat -c %s "$dst/bundle.tar.xz") / 1024)) "$(wc -l <"$dst/bundle.txt")" $((carry_bytes / 1024)) \
  $((tree_bytes / 1024)) "$(echo "$total / 1048576" | bc -l)"
if ((total > 64 * 1024 * 1024)); then
  echo "prepare_carry.sh: tree + build-gpucarry exceed 64 MiB" >&2
  exit 1
fi
