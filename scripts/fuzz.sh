#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang, ASan and UBSan in
# their own build directory, then fuzzes each target in turn, one process at
# a time, niced, and prints a Markdown table of what ran (docs/reliability.md,
# "Fuzzing").
#
#   scripts/fuzz.sh [--runs N] [--seconds T] [--build-dir DIR] [--jobs J]
#                   [--build-only] [TARGET...]
#
#   --runs N      stop each target after N executions (default 10000000)
#   --seconds T   ... or after T seconds, whichever first (default 3600)
#   TARGET        a target name (http_request, image_decode, ...); default all
#
# Each target starts from its committed seeds (tests/fuzz/corpus/TARGET) and
# grows a working corpus in DIR/fuzz-corpus/TARGET (kept between runs, never
# written back). A crash, leak, UBSan report, timeout (> 10 s per input) or
# out-of-memory (> 2 GB) stops that target: the input is saved under
# DIR/fuzz-artifacts/TARGET/, the row says FAIL, and the script exits 1.
# Commit such an input to tests/fuzz/corpus/TARGET/ with the fix.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$here/build-fuzz"
runs=10000000
seconds=3600
jobs="${YOLOSCOPE_JOBS:-2}"
build_only=0
targets=()
while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --build-dir) build_dir="$(realpath -m "$2")"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --build-only) build_only=1; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

log() { printf '\033[1m[fuzz]\033[0m %s\n' "$*" >&2; }

cxx="${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14 || true)}"
if [ -z "$cxx" ]; then
  echo "fuzz.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi

if ((${#targets[@]} == 0)); then
  for f in "$here"/tests/fuzz/*_fuzzer.cc; do
    t="$(basename "$f" _fuzzer.cc)"
    targets+=("$t")
  done
fi

if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  log "configuring $build_dir (clang, ASan + UBSan + libFuzzer)"
  launcher=()
  if command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$here}"
  fi
  # Only what the fuzz targets link: no inference engines, no generated
  # models, no benchmarks.
  nice -n 10 cmake -S "$here" -B "$build_dir" "${launcher[@]}" \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DYOLOSCOPE_FUZZ=ON \
    -DYOLOSCOPE_WITH_TORCH=OFF -DYOLOSCOPE_WITH_ONNXRUNTIME=OFF -DYOLOSCOPE_WITH_OPENCV=OFF \
    -DYOLOSCOPE_GENERATE_MODELS=OFF -DYOLOSCOPE_BUILD_BENCH=OFF >/dev/null
fi
log "building ${#targets[@]} fuzz targets with $jobs jobs"
nice -n 10 cmake --build "$build_dir" -j "$jobs" --target "${targets[@]/#/fuzz_}" >&2
((build_only)) && exit 0

status=0
printf '| target | executions | exec/s | seconds | corpus | result |\n|---|---:|---:|---:|---:|---|\n'
for t in "${targets[@]}"; do
  bin="$build_dir/tests/fuzz/fuzz_$t"
  work="$build_dir/fuzz-corpus/$t"
  artifacts="$build_dir/fuzz-artifacts/$t/"
  out="$build_dir/fuzz-logs/$t.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$out")"
  log "$t: up to $runs executions or $seconds s"
  start=$(date +%s)
  rc=0
  nice -n 19 "$bin" -runs="$runs" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts" "$work" "$here/tests/fuzz/corpus/$t" \
    >"$out" 2>&1 || rc=$?
  elapsed=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out" | tail -1)
  corpus=$(find "$work" -type f | wc -l)
  if ((rc == 0)) && ! grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:" "$out"; then
    result=ok
  else
    result="FAIL (rc $rc, see $out)"
    status=1
  fi
  printf '| %s | %s | %s | %s | %s | %s |\n' "$t" "${execs:-?}" "${speed:-?}" "$elapsed" "$corpus" "$result"
done
exit $status
