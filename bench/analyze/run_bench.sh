#!/usr/bin/env bash
# End-to-end benchmark of `yoloscope analyze` against pandas and jq, measured
# in the same run on the same file (docs/benchmarks.md records the numbers).
#
#   bench/analyze/run_bench.sh [SIZE]        SIZE of the generated log: 1G (default), 5G, 500M
#
# Environment: YOLOSCOPE_BUILD_DIR (default build/), YOLOSCOPE_BIN (default
# $YOLOSCOPE_BUILD_DIR/apps/yoloscope/yoloscope), LOGGEN (default
# $YOLOSCOPE_BUILD_DIR/bench/loggen/ys_loggen), BENCH_DIR (default
# /tmp/ys_analyze_bench: the log and outputs), THREADS (yoloscope --threads,
# default 0 = all cores), SKIP_PANDAS=1 / SKIP_JQ=1 to leave a baseline out,
# VIA_STDIN=1 to feed yoloscope the log on stdin (the streaming reader instead
# of the memory-mapped one).
#
# Besides wall time it reports CPU time (user + sys): on a machine shared with
# other work the wall clock measures the neighbours too, and "GB/s per CPU
# second x cores" is what the same run gives on idle cores.
#
# Measures, each with /usr/bin/time -v (wall time and peak RSS):
#   yoloscope analyze --format json LOG     (everything: summary, stages, findings, series)
#   pandas_percentiles.py LOG               (only the per-stage percentiles, chunked read)
#   jq -c '.total_ms' LOG | wc -l           (jq doing far less: one field, no statistics)
# The file is read once beforehand so that every tool starts from the page cache.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${YOLOSCOPE_BUILD_DIR:-$root/build}"
size="${1:-1G}"
work="${BENCH_DIR:-/tmp/ys_analyze_bench}"
threads="${THREADS:-0}"
yoloscope="${YOLOSCOPE_BIN:-$build/apps/yoloscope/yoloscope}"
loggen="${LOGGEN:-$build/bench/loggen/ys_loggen}"
python=/usr/bin/python3

die() { echo "run_bench: $*" >&2; exit 1; }
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
if [ ! -x "$yoloscope" ] || [ ! -x "$loggen" ]; then
  echo "building yoloscope and ys_loggen in $build" >&2
  cmake --build "$build" --target yoloscope loggen -j"$(nproc)" >/dev/null
fi
mkdir -p "$work"
log="$work/requests_$size.jsonl"

if [ ! -s "$log" ]; then
  echo "generating $size log with ys_loggen -> $log" >&2
  # A one-hour-scale service with a few incidents, so that findings, series and
  # change points all have work to do.
  "$loggen" --size "$size" --seed 7 --out "$log" \
    --condition cold_start@0+30 --condition memory_squeeze@600+120 \
    --condition queue_saturation@1500+90 --condition throttling@2400+120 \
    --condition error_burst@3000+30
fi
bytes=$(stat -c %s "$log")
rm -f "$work/yoloscope.json" "$work/pandas.json" "$work/jq.txt" "$work"/time_*.txt
cat "$log" > /dev/null  # warm the page cache for every tool alike.

# measure NAME CMD...: runs CMD under /usr/bin/time -v; sets secs_NAME, rss_NAME (MB).
measure() {
  local name=$1; shift
  local tfile="$work/time_$name.txt"
  if ! /usr/bin/time -v -o "$tfile" "$@"; then die "$name failed (see $tfile)"; fi
  local wall rss user sys
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tfile")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tfile")
  user=$(awk -F': ' '/User time \(seconds\)/ {print $2}' "$tfile")
  sys=$(awk -F': ' '/System time \(seconds\)/ {print $2}' "$tfile")
  printf -v "cpu_$name" '%s' "$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')"
  # h:mm:ss or m:ss.ss -> seconds
  local secs
  secs=$(echo "$wall" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  printf -v "secs_$name" '%s' "$secs"
  printf -v "rss_$name" '%s' "$(awk -v k="$rss" 'BEGIN{printf "%.0f", k/1024}')"
}

echo "file: $log ($(awk -v b="$bytes" 'BEGIN{printf "%.2f GB", b/1e9}')), $(nproc) cores" >&2

if [ "${VIA_STDIN:-0}" = 1 ]; then
  measure yoloscope sh -c "'$yoloscope' analyze --format json --progress never --threads $threads - < '$log' > '$work/yoloscope.json'"
else
  measure yoloscope sh -c "'$yoloscope' analyze --format json --progress never --threads $threads '$log' > '$work/yoloscope.json'"
fi
if [ "${SKIP_JQ:-0}" != 1 ]; then
  measure jq sh -c "jq -c '.total_ms' '$log' | wc -l > '$work/jq.txt'"
fi
if [ "${SKIP_PANDAS:-0}" != 1 ]; then
  "$python" -c 'import pandas' 2>/dev/null || die "pandas is missing (apt-get install python3-pandas)"
  measure pandas sh -c "'$python' '$root/bench/analyze/pandas_percentiles.py' '$log' > '$work/pandas.json'"
fi

gbps() { awk -v b="$bytes" -v s="$1" 'BEGIN{ if (s > 0) printf "%.2f", b/1e9/s; else print "inf" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.1f", a/b; else print "inf" }'; }

echo
printf '%-34s %9s %9s %9s %9s\n' "tool" "wall s" "cpu s" "GB/s" "RSS MB"
row() { printf '%-34s %9s %9s %9s %9s\n' "$1" "$2" "$3" "$(gbps "$2")" "$4"; }
row "yoloscope analyze --format json" "$secs_yoloscope" "$cpu_yoloscope" "$rss_yoloscope"
[ -n "${secs_pandas:-}" ] && row "pandas per-stage percentiles" "$secs_pandas" "$cpu_pandas" "$rss_pandas"
[ -n "${secs_jq:-}" ] && row "jq -c '.total_ms' | wc -l" "$secs_jq" "$cpu_jq" "$rss_jq"
echo
cores=$(nproc)
[ "$threads" != 0 ] && cores=$threads
ys_idle=$(awk -v c="$cpu_yoloscope" -v n="$cores" -v w="$secs_yoloscope" 'BEGIN{ x = c / n; printf "%.3f", (x < w ? x : w) }')
echo "yoloscope: $(gbps "$secs_yoloscope") GB/s wall; $(gbps "$ys_idle") GB/s from CPU time on $cores cores (goal >= 1); peak RSS $rss_yoloscope MB (goal <= 256)"
if [ -n "${secs_pandas:-}" ]; then
  echo "vs pandas: $(ratio "$secs_pandas" "$secs_yoloscope")x faster by wall time, $(ratio "$cpu_pandas" "$ys_idle")x by CPU time on idle cores (goal >= 30x)"
fi
if [ -n "${secs_jq:-}" ]; then
  echo "vs jq:     $(ratio "$secs_jq" "$secs_yoloscope")x faster by wall time, $(ratio "$cpu_jq" "$ys_idle")x by CPU time on idle cores (goal > 1x)"
fi

# Agreement: yoloscope's histogram percentiles vs pandas' exact ones.
if [ -s "$work/pandas.json" ]; then
  "$python" - "$work/yoloscope.json" "$work/pandas.json" <<'PY'
import json, sys
ys = {s["stage"]: s for s in json.load(open(sys.argv[1]))["stages"]}
pd = {s["stage"]: s for s in json.load(open(sys.argv[2]))["stages"]}
worst = 0.0
for stage, p in pd.items():
    y = ys.get(stage)
    if y is None:
        print(f"stage {stage} missing from yoloscope"); continue
    if y["count"] != p["count"]:
        print(f"stage {stage}: count {y['count']} vs pandas {p['count']}")
    for k in ("mean_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"):
        if p[k] > 0:
            worst = max(worst, abs(y[k] - p[k]) / p[k])
print(f"largest relative difference from pandas' exact percentiles: {worst * 100:.2f}%")
PY
fi
findings=$("$python" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(", ".join(f["severity"]+":"+f["kind"] for f in r["findings"]))' "$work/yoloscope.json")
echo "findings: $findings"
