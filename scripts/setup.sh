#!/usr/bin/env bash
# yoloscope set-up: installs the Debian 12 packages the build and tests need
# (idempotent, non-interactive, skips what is already present), then builds.
#
#   scripts/setup.sh deps     install packages only
#   scripts/setup.sh build    deps + configure + build (default)
#   scripts/setup.sh demo     build, then run the demo on the bundled default
#   scripts/setup.sh test     build, then run every test (ctest)
#   scripts/setup.sh bench-deps  deps + the benchmark-only npm packages (DuckDB)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${YOLOSCOPE_BUILD_DIR:-$here/build}"
jobs="${YOLOSCOPE_JOBS:-$(nproc)}"

packages=(
  build-essential cmake pkg-config git ca-certificates ccache
  libgtest-dev libgmock-dev libbenchmark-dev
  libopencv-dev libtorch-dev python3-torch python3-onnx python3-numpy libopenblas0-pthread
  libturbojpeg0-dev libpng-dev libwebp-dev zlib1g-dev libzstd-dev
  libsimdjson-dev libboost-dev nlohmann-json3-dev libcli11-dev libfmt-dev libspdlog-dev libyaml-cpp-dev
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc  # KServe v2 over gRPC (serve, bench)
  clickhouse-server  # the fleet database's tests run a real server as a child process (tests/fleet)
  prometheus prometheus-alertmanager wrk jq time python3-pandas  # jq, pandas: analyze benchmark baselines
  ffmpeg   # makes and serves the test videos of the stream tests (tests/stream, tests/server)
  darknet  # ships the sample photos (/usr/share/darknet/data/*.jpg)
  chromium  # headless browser for the report / live page tests (tests/report)
  nodejs    # runs npm (web/: uPlot for the report) and playwright-core (browser tests)
)
# npm ships with some Node.js builds (NodeSource); Debian's npm package only
# when the command is missing, so it never fights an installed Node.js.
command -v npm >/dev/null 2>&1 || packages+=(npm)

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

install_deps() {
  local missing=()
  for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if ((${#missing[@]})); then
    log "installing ${#missing[@]} Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "all ${#packages[@]} Debian packages present"
  fi
}

# npm_ci DIR WHAT WITHOUT [NPM-FLAGS...]: `npm ci` in DIR, pinned by its
# package-lock.json; skipped when the lock file has not changed since the
# last install. Without npm, or when it fails (offline), the build still
# succeeds without WHAT and WITHOUT says what that costs.
npm_ci() {
  local dir="$1" what="$2" without="$3"
  shift 3
  local stamp="$dir/node_modules/.yoloscope-npm-ci.lock" rel="${dir#"$here"/}"
  if ! command -v npm >/dev/null 2>&1; then
    log "npm not found: building WITHOUT $what ($without)"
    return 0
  fi
  if [ -f "$stamp" ] && cmp -s "$dir/package-lock.json" "$stamp"; then
    log "$rel/node_modules matches $rel/package-lock.json"
    return 0
  fi
  log "installing $what: npm ci $* in $rel/"
  if (cd "$dir" && timeout 900 npm ci "$@" --no-audit --no-fund --loglevel=error); then
    cp "$dir/package-lock.json" "$stamp"
  else
    log "npm ci failed: building WITHOUT $what ($without)"
  fi
}

# web/: the report's chart library (uPlot) and the browser-test driver
# (playwright-core).
install_web_assets() {
  npm_ci "$here/web" "the report's chart assets" "analyze --html will say so"
}

# deps/onnxruntime: ONNX Runtime's CPU library for the default ONNX engine.
# Debian 12 has no ONNX Runtime; the npm package onnxruntime-node ships the
# prebuilt library, which yoloscope dlopen()s (no headers needed).
# --ignore-scripts: its install script only downloads a CUDA provider, which
# fails offline and is not used.
install_onnxruntime() {
  npm_ci "$here/deps/onnxruntime" "ONNX Runtime's CPU library" \
    ".onnx models then need --backend opencv or --onnxruntime-lib" --ignore-scripts
}

# deps/duckdb: DuckDB (@duckdb/node-api), a baseline of the analyze
# benchmark (bench/analyze/run_bench.sh) only: never needed to build or test,
# so only `setup.sh bench-deps` installs it (70 MB).
install_bench_deps() {
  npm_ci "$here/deps/duckdb" "DuckDB (benchmark baseline)" \
    "bench/analyze/run_bench.sh leaves the DuckDB column out"
}

configure_and_build() {
  install_web_assets
  install_onnxruntime
  log "configuring in $build_dir"
  local cmake_args=(-DCMAKE_BUILD_TYPE=Release)
  # ccache: a rebuild (or a second clone: paths are hashed relative to the
  # repository root) recompiles only what changed.
  if command -v ccache >/dev/null 2>&1; then
    cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$here}"
  fi
  cmake -S "$here" -B "$build_dir" "${cmake_args[@]}" >/dev/null
  log "building with $jobs jobs"
  cmake --build "$build_dir" -j "$jobs"
}

cmd="${1:-build}"
case "$cmd" in
  deps) install_deps ;;
  bench-deps) install_deps; install_bench_deps ;;
  build) install_deps; configure_and_build ;;
  demo) install_deps; configure_and_build; exec "$here/scripts/demo.sh" "$build_dir" ;;
  test)
    install_deps; configure_and_build
    log "running the test suite"
    cd "$build_dir" && ctest --output-on-failure --no-label-summary -j "$jobs" --timeout 900
    ;;
  *) echo "usage: $0 [deps|build|demo|test|bench-deps]" >&2; exit 2 ;;
esac
